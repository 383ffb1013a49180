// Run by the mongo-init Job with mongosh on the replica set (so on the primary) as the root
// user. Creates, or updates the password and roles of, the user the services connect as:
// readWrite on MONGO_DB only (each service creates its own collections and indexes there).
const admin = db.getSiblingDB('admin');
const user = process.env.MONGO_APP_USERNAME;
const pwd = process.env.MONGO_APP_PASSWORD;
const database = process.env.MONGO_DB ?? 'assessment_platform';
if (!user || !pwd) throw new Error('MONGO_APP_USERNAME and MONGO_APP_PASSWORD are required');
const roles = [{ role: 'readWrite', db: database }];
if (admin.getUser(user)) {
  admin.updateUser(user, { pwd, roles });
  print(`updated user ${user} (readWrite on ${database})`);
} else {
  admin.createUser({ user, pwd, roles });
  print(`created user ${user} (readWrite on ${database})`);
}
