/**
 * @ap/cat — computerized adaptive testing engine (pure, no I/O).
 */
export {
  DEFAULT_D,
  THETA_MAX,
  THETA_MIN,
  info3pl,
  information,
  logistic,
  paramsFromLabel,
  prob1pl,
  prob2pl,
  prob3pl,
  probability,
  softplus,
  testInformation,
} from './irt.ts';
export type { DifficultyLabel, ItemParams } from './irt.ts';
export { createRng, hashSeed, uniformFromSeed } from './rng.ts';
export type { Rng } from './rng.ts';
export { DEFAULT_PRIOR, EapAccumulator, checkPattern, computePosterior, estimateEap, estimateMle } from './estimate.ts';
export type { Estimate, EstimateOptions, MleEstimate, MleOptions, PosteriorGrid, Prior, Response } from './estimate.ts';
export { contentStatus, selectNextItem } from './select.ts';
export type { ContentStatus, SelectInput, SelectResult, SelectableItem, SkillTarget, SkillTargets } from './select.ts';
export { checkStop } from './stop.ts';
export type { StopDecision, StopInput, StopReason } from './stop.ts';
export { MAX_A_STRATA, MAX_THETA_STRATA, bankItemSchema, catConfigSchema } from './config.ts';
export type { BankItem, CatConfig } from './config.ts';
export { UnknownItemError, estimateForConfig, exposureDraw, nextStep, stepRng, thetaCutsOf } from './step.ts';
export type { HistoryEntry, NextStepInput, NextStepResult } from './step.ts';
export { percentileRank, scaleFromRange, scoreResult, toScaledScore } from './score.ts';
export type { ScoreInput, ScoreResult, ScoreScale, SkillResult, TraceEntry } from './score.ts';
export { bankFileItemSchema, DEFAULT_POLY_A, defaultThresholds, parseBankFile } from './bank-file.ts';
export type { BankFileError, BankFileItem, ParseBankResult, ParsedBankItem, ParsedChoiceItem, ParsedPolyItem } from './bank-file.ts';
export { drawThetas, generateBank, simulateCat } from './simulate.ts';
export type {
  GenerateBankOptions,
  LengthStats,
  SimItem,
  SimulationOptions,
  SimulationResult,
  SimuleeResult,
  ThetaStratumStats,
} from './simulate.ts';
export { calibrateConditionalSympsonHetter, calibrateSympsonHetter, updateExposureFromUsage } from './exposure.ts';
export type {
  CalibrateOptions,
  CalibrationIteration,
  CalibrationResult,
  ConditionalCalibrateOptions,
  ConditionalCalibrationIteration,
  ConditionalCalibrationResult,
  ExposureUpdate,
  ItemUsage,
  UsageUpdateInput,
} from './exposure.ts';
export { DEFAULT_THETA_CUTS, aStrata, stratumForStep, stratumLengths, thetaStratum } from './strata.ts';
export { renderSimulationSvg } from './svg.ts';
export { renderInformationSvg, renderItemCurvesSvg } from './curves-svg.ts';
export type { CurveOptions } from './curves-svg.ts';
export type { SvgOptions } from './svg.ts';
export { ESTIMATION_METHODS, estimateTheta } from './methods.ts';
export type { EstimationMethod, MethodEstimate, MethodOptions } from './methods.ts';
export {
  MAX_A,
  MAX_ABS_B,
  MAX_D,
  categoryCount,
  categoryCurves,
  categoryProbabilities,
  drawCategory,
  expectedScore,
  isPoly,
  itemInformation,
  itemProblem,
  logCategoryProbability,
} from './models.ts';
export type { AnyItemParams, CategoryCurves, PolyItemParams } from './models.ts';
export { classificationRuleSchema, classify, normalQuantile, simulateClassification, sprtLogRatio } from './classify.ts';
export type { ClassificationRule, ClassificationSimOptions, ClassificationSimResult, Decision } from './classify.ts';
export { calibrate, calibrationOptionsSchema, chiSquareP } from './calibrate.ts';
export type { CalibrationOptions, CalibrationReport, ItemCalibration, PolySpec, ResponseRow } from './calibrate.ts';
export { renderCalibrationSvg } from './calibration-svg.ts';
export type { CalibrationSvgOptions } from './calibration-svg.ts';
