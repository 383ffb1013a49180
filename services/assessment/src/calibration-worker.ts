import { parentPort, workerData } from 'node:worker_threads';
import { calibrate } from '@ap/cat';
import type { CalibrationOptions, ResponseRow } from '@ap/cat';

// Runs one calibration off the service's event loop (see calibration.ts): the EM cycles over every
// stored answer take seconds of CPU that candidates' requests must not wait behind.
const { rows, itemCount, options } = workerData as { rows: ResponseRow[]; itemCount: number; options: CalibrationOptions };
parentPort?.postMessage(calibrate(rows, itemCount, options));
