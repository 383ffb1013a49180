// Run by the mongo-init Job with mongosh, connected directly to mongo-0 as the root user.
// Idempotent: initiates rs0 with MONGO_REPLICAS members only when it has no configuration yet,
// then waits until the set has a writable primary.
const size = Number(process.env.MONGO_REPLICAS ?? '3');
const service = process.env.MONGO_SERVICE ?? 'mongo-headless';
const members = Array.from({ length: size }, (_, i) => ({
  _id: i,
  host: `mongo-${i}.${service}:27017`,
  priority: i === 0 ? 2 : 1,
}));

let initiated = true;
try {
  rs.status();
} catch (e) {
  if (e.codeName !== 'NotYetInitialized') throw e;
  initiated = false;
}
if (initiated) {
  print(
    `replica set already initiated: ${rs
      .conf()
      .members.map((m) => m.host)
      .join(', ')}`,
  );
} else {
  print(`initiating rs0 with ${members.map((m) => m.host).join(', ')}`);
  rs.initiate({ _id: 'rs0', members });
}

for (let i = 0; ; i++) {
  const hello = db.hello();
  if (hello.primary) {
    print(`primary: ${hello.primary}`);
    break;
  }
  if (i >= 180) throw new Error('no primary elected within 180 s');
  sleep(1000);
}
