// A scenario of @clerk/backend calls against the Backend API at CLERK_API_URL.
// Prints one JSON object: what each step returned, for the Python side to check.
import { createInterface } from "node:readline";

import { createClerkClient, verifyToken } from "@clerk/backend";

const secretKey = process.env.CLERK_SECRET_KEY;
const apiUrl = process.env.CLERK_API_URL;
const clerk = createClerkClient({ secretKey, apiUrl });
const out = {};

// A question to the Python side (one JSON line out, one line of answer in), for what
// only the emulator itself can do.
const hostAnswers = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function askHost(question) {
  process.stdout.write(`ask ${JSON.stringify(question)}\n`);
  const { value } = await hostAnswers.next();
  return JSON.parse(value);
}

async function step(name, fn) {
  try {
    out[name] = { ok: await fn() };
  } catch (err) {
    out[name] = {
      error: err?.constructor?.name ?? "Error",
      status: err?.status ?? null,
      codes: (err?.errors ?? []).map((e) => e.code),
      message: String(err?.message ?? err),
    };
  }
}

let user, org, session;
await step("createUser", async () => {
  user = await clerk.users.createUser({
    emailAddress: ["ada@example.com"],
    password: "correct horse battery staple",
    firstName: "Ada",
    externalId: "ext-ada",
    publicMetadata: { plan: "free" },
  });
  return {
    kind: typeof user,
    id: user.id,
    firstName: user.firstName,
    email: user.primaryEmailAddress?.emailAddress ?? null,
    externalId: user.externalId,
    plan: user.publicMetadata.plan,
  };
});
await step("getUser", async () => {
  const u = await clerk.users.getUser(user.id);
  return { id: u.id, firstName: u.firstName, createdAt: typeof u.createdAt };
});
await step("getUserList", async () => {
  const page = await clerk.users.getUserList({ limit: 2, orderBy: "-created_at" });
  return { type: Array.isArray(page.data) ? "array" : typeof page.data, len: page.data.length, totalCount: page.totalCount };
});
await step("getUserListByEmail", async () => {
  const page = await clerk.users.getUserList({ emailAddress: ["ada@example.com"] });
  return page.data.map((u) => u.id);
});
await step("getCount", async () => clerk.users.getCount());
await step("updateUser", async () => (await clerk.users.updateUser(user.id, { lastName: "Lovelace" })).lastName);
await step("updateUserMetadata", async () => {
  const u = await clerk.users.updateUserMetadata(user.id, { publicMetadata: { beta: true } });
  return u.publicMetadata;
});
await step("verifyPassword", async () =>
  clerk.users.verifyPassword({ userId: user.id, password: "correct horse battery staple" }),
);
await step("banUser", async () => (await clerk.users.banUser(user.id)).banned);
await step("unbanUser", async () => (await clerk.users.unbanUser(user.id)).banned);
await step("missingUser", async () => clerk.users.getUser("user_doesnotexist"));
await step("createOrganization", async () => {
  org = await clerk.organizations.createOrganization({ name: "Acme", createdBy: user.id });
  return { id: org.id, slug: org.slug, name: org.name };
});
await step("getOrganizationList", async () => {
  const page = await clerk.organizations.getOrganizationList({ limit: 10 });
  return { len: page.data.length, totalCount: page.totalCount, names: page.data.map((o) => o.name) };
});
await step("getOrganizationMembershipList", async () => {
  const page = await clerk.organizations.getOrganizationMembershipList({ organizationId: org.id });
  return { totalCount: page.totalCount, roles: page.data.map((m) => m.role), userIds: page.data.map((m) => m.publicUserData?.userId) };
});
await step("createOrganizationInvitation", async () => {
  const inv = await clerk.organizations.createOrganizationInvitation({
    organizationId: org.id, emailAddress: "grace@example.com", role: "org:member", inviterUserId: user.id,
  });
  return { status: inv.status, email: inv.emailAddress, role: inv.role };
});
await step("createInvitation", async () => {
  const inv = await clerk.invitations.createInvitation({ emailAddress: "linus@example.com" });
  return { status: inv.status, email: inv.emailAddress };
});
await step("getInvitationList", async () => {
  const page = await clerk.invitations.getInvitationList();
  return { totalCount: page.totalCount, emails: page.data.map((i) => i.emailAddress) };
});
await step("allowlist", async () => {
  const id = await clerk.allowlistIdentifiers.createAllowlistIdentifier({ identifier: "@example.com", notify: false });
  const page = await clerk.allowlistIdentifiers.getAllowlistIdentifierList();
  return { identifier: id.identifier, totalCount: page.totalCount };
});
await step("session", async () => {
  session = await clerk.sessions.createSession({ userId: user.id });
  const token = await clerk.sessions.getToken(session.id);
  const claims = await verifyToken(token.jwt, { secretKey, apiUrl });
  const list = await clerk.sessions.getSessionList({ userId: user.id });
  return { status: session.status, sub: claims.sub, sid: claims.sid, listed: list.totalCount };
});
await step("clients", async () => {
  const page = await clerk.clients.getClientList({ limit: 10 });
  const client = await clerk.clients.getClient(session.clientId);
  const token = await clerk.sessions.getToken(session.id);
  const verified = await clerk.clients.verifyClient(token.jwt);
  return {
    totalCount: page.totalCount,
    ids: page.data.map((c) => c.id),
    id: client.id,
    sessionIds: client.sessionIds,
    lastActiveSessionId: client.lastActiveSessionId,
    verifiedId: verified.id,
  };
});
await step("revokeSession", async () => (await clerk.sessions.revokeSession(session.id)).status);
let template;
await step("createJwtTemplate", async () => {
  template = await clerk.jwtTemplates.create({ name: "api", claims: { aud: "api" }, lifetime: 120 });
  return { id: template.id, name: template.name, claims: template.claims, lifetime: template.lifetime };
});
await step("jwtTemplates", async () => {
  const page = await clerk.jwtTemplates.list();
  const got = await clerk.jwtTemplates.get(template.id);
  const updated = await clerk.jwtTemplates.update({ templateId: template.id, name: "api-v2", claims: { aud: "api" } });
  const deleted = await clerk.jwtTemplates.delete(template.id);
  return {
    totalCount: page.totalCount,
    ids: page.data.map((t) => t.id),
    got: got.name,
    updated: updated.name,
    deleted: { id: deleted.id, deleted: deleted.deleted },
  };
});
// ---- API keys and OAuth applications (apiKeys, oauthApplications, idPOAuthAccessToken) ----
const publishableKey = process.env.CLERK_PUBLISHABLE_KEY;
const bearer = (token) =>
  new Request("http://localhost/api", { headers: { Authorization: `Bearer ${token}` } });
async function machineAuth(token, acceptsToken) {
  const state = await clerk.authenticateRequest(bearer(token), { acceptsToken, publishableKey });
  return { isAuthenticated: state.isAuthenticated, tokenType: state.tokenType, subject: state.toAuth()?.subject ?? null };
}
let apiKey;
await step("apiKeysCreate", async () => {
  apiKey = await clerk.apiKeys.create({
    name: "ci-key", subject: user.id, description: "for CI", scopes: ["read"], claims: { team: "infra" },
    createdBy: user.id, secondsUntilExpiration: 3600,
  });
  return {
    id: apiKey.id, secret: apiKey.secret, subject: apiKey.subject, name: apiKey.name, scopes: apiKey.scopes,
    claims: apiKey.claims, createdBy: apiKey.createdBy, revoked: apiKey.revoked, expired: apiKey.expired,
    lifetime: apiKey.expiration - apiKey.createdAt,
  };
});
await step("apiKeysRead", async () => {
  const got = await clerk.apiKeys.get(apiKey.id);
  const page = await clerk.apiKeys.list({ subject: user.id, limit: 5 });
  const updated = await clerk.apiKeys.update({ apiKeyId: apiKey.id, subject: user.id, scopes: ["read", "write"], description: "rotated" });
  const secret = await clerk.apiKeys.getSecret(apiKey.id);
  return {
    gotId: got.id, gotSecret: got.secret ?? null, totalCount: page.totalCount, ids: page.data.map((k) => k.id),
    listedSecret: page.data[0]?.secret ?? null, scopes: updated.scopes, description: updated.description,
    secretMatches: secret.secret === apiKey.secret,
  };
});
await step("apiKeysVerify", async () => {
  const verified = await clerk.apiKeys.verify(apiKey.secret);
  return { id: verified.id, subject: verified.subject, scopes: verified.scopes, lastUsed: typeof verified.lastUsedAt };
});
await step("apiKeysAuthenticate", async () => machineAuth(apiKey.secret, "api_key"));
await step("apiKeysRevoke", async () => {
  const revoked = await clerk.apiKeys.revoke({ apiKeyId: apiKey.id, revocationReason: "leaked" });
  const hidden = await clerk.apiKeys.list({ subject: user.id });
  const shown = await clerk.apiKeys.list({ subject: user.id, includeInvalid: true });
  return { revoked: revoked.revoked, reason: revoked.revocationReason, hidden: hidden.totalCount, shown: shown.totalCount };
});
await step("apiKeysVerifyRevoked", async () => clerk.apiKeys.verify(apiKey.secret));
await step("apiKeysAuthenticateRevoked", async () => machineAuth(apiKey.secret, "api_key"));
await step("apiKeysDelete", async () => {
  const deleted = await clerk.apiKeys.delete(apiKey.id);
  return { id: deleted.id, deleted: deleted.deleted };
});
let oauthApp;
await step("oauthApplicationsCreate", async () => {
  oauthApp = await clerk.oauthApplications.create({ name: "CLI", redirectUris: ["myapp://callback"], scopes: "profile email" });
  return {
    id: oauthApp.id, clientId: oauthApp.clientId, secret: typeof oauthApp.clientSecret, scopes: oauthApp.scopes,
    redirectUris: oauthApp.redirectUris, isPublic: oauthApp.isPublic,
  };
});
await step("oauthApplicationsRead", async () => {
  const got = await clerk.oauthApplications.get(oauthApp.id);
  const page = await clerk.oauthApplications.list({ nameQuery: oauthApp.clientId });
  const updated = await clerk.oauthApplications.update({ oauthApplicationId: oauthApp.id, name: "CLI v2" });
  const rotated = await clerk.oauthApplications.rotateSecret(oauthApp.id);
  return {
    gotSecret: got.clientSecret ?? null, totalCount: page.totalCount, ids: page.data.map((a) => a.id),
    name: updated.name, rotated: typeof rotated.clientSecret === "string" && rotated.clientSecret !== oauthApp.clientSecret,
  };
});
// No Backend API call issues an access token: the Python side issues one with the emulator.
const oauthToken = await askHost({ issueOAuthToken: { application: oauthApp.id, userId: user.id } });
await step("oauthTokenVerify", async () => {
  const verified = await clerk.idPOAuthAccessToken.verify(oauthToken);
  return { clientId: verified.clientId, subject: verified.subject, scopes: verified.scopes };
});
await step("oauthTokenAuthenticate", async () => machineAuth(oauthToken, "oauth_token"));
await step("oauthApplicationsRevokeToken", async () =>
  (await clerk.oauthApplications.revokeToken({ oauthApplicationId: oauthApp.id, token: oauthToken })) ?? null,
);
await step("oauthTokenVerifyRevoked", async () => clerk.idPOAuthAccessToken.verify(oauthToken));
await step("oauthApplicationsDelete", async () => {
  const deleted = await clerk.oauthApplications.delete(oauthApp.id);
  return { id: deleted.id, deleted: deleted.deleted };
});
// ---- end of API keys and OAuth applications ----
await step("webhooks", async () => {
  const app = await clerk.webhooks.createSvixApp();
  const auth = await clerk.webhooks.generateSvixAuthURL();
  const gone = await clerk.webhooks.deleteSvixApp();
  return { app: typeof app.svix_url, auth: typeof auth.svix_url, gone: gone ?? null };
});
await step("domains", async () => {
  const page = await clerk.domains.list();
  return { totalCount: page.totalCount, len: page.data.length };
});
// -- machines and M2M tokens ---------------------------------------------------------
let target, caller, m2m, m2mJwt, targetKey;
await step("createMachines", async () => {
  target = await clerk.machines.create({ name: "target" });
  caller = await clerk.machines.create({ name: "caller", scopedMachines: [target.id], defaultTokenTtl: 600 });
  return {
    targetId: target.id,
    callerId: caller.id,
    scoped: caller.scopedMachines.map((m) => m.id),
    ttl: caller.defaultTokenTtl,
    keyPrefix: caller.secretKey?.slice(0, 3) ?? null,
  };
});
await step("machines", async () => {
  const page = await clerk.machines.list({ orderBy: "name" });
  const got = await clerk.machines.get(caller.id);
  const updated = await clerk.machines.update({ machineId: target.id, name: "target-v2" });
  targetKey = (await clerk.machines.getSecretKey(target.id)).secret;
  const other = await clerk.machines.create({ name: "other" });
  const scope = await clerk.machines.createScope(caller.id, other.id);
  const unscoped = await clerk.machines.deleteScope(caller.id, other.id);
  const gone = await clerk.machines.delete(other.id);
  return {
    totalCount: page.totalCount,
    names: page.data.map((m) => m.name),
    gotScoped: got.scopedMachines.map((m) => m.id),
    updated: updated.name,
    targetKeyPrefix: targetKey.slice(0, 3),
    scope: { from: scope.fromMachineId, to: scope.toMachineId },
    unscoped: { deleted: unscoped.deleted }, // decoded as a DeletedObject
    gone: { id: gone.id === other.id, deleted: gone.deleted },
  };
});
await step("m2mCreateToken", async () => {
  m2m = await clerk.m2m.createToken({ machineSecretKey: caller.secretKey, claims: { job: "sync" } });
  return {
    id: m2m.id,
    tokenPrefix: m2m.token.slice(0, 3),
    subject: m2m.subject,
    scopes: m2m.scopes,
    claims: m2m.claims,
    lifetime: m2m.expiration - m2m.createdAt,
    revoked: m2m.revoked,
    expired: m2m.expired,
  };
});
await step("m2mVerify", async () => {
  const byInstance = await clerk.m2m.verify({ token: m2m.token });
  const byTarget = await clerk.m2m.verify({ token: m2m.token, machineSecretKey: targetKey });
  return { instance: byInstance.id, target: byTarget.id, subject: byInstance.subject };
});
await step("m2mVerifyByUnscopedMachine", async () =>
  clerk.m2m.verify({ token: m2m.token, machineSecretKey: caller.secretKey }),
);
await step("m2mList", async () => {
  const page = await clerk.m2m.list({ subject: caller.id, machineSecretKey: caller.secretKey });
  return { totalCount: page.totalCount, ids: page.data.map((t) => t.id) };
});
await step("m2mCreateWithInstanceKey", async () => clerk.m2m.createToken());
await step("m2mRevokeToken", async () => {
  const revoked = await clerk.m2m.revokeToken({ m2mTokenId: m2m.id, revocationReason: "done" });
  return { id: revoked.id, revoked: revoked.revoked, reason: revoked.revocationReason };
});
await step("m2mVerifyRevoked", async () => clerk.m2m.verify({ token: m2m.token }));
await step("m2mJwt", async () => {
  m2mJwt = await clerk.m2m.createToken({
    machineSecretKey: caller.secretKey, tokenFormat: "jwt", secondsUntilExpiration: 120,
  });
  const verified = await clerk.m2m.verify({ token: m2mJwt.token });
  return {
    dots: m2mJwt.token.split(".").length - 1,
    id: verified.id === m2mJwt.id,
    subject: verified.subject,
    lifetime: m2mJwt.expiration - m2mJwt.createdAt,
  };
});
await step("deleteMachines", async () => {
  const a = await clerk.machines.delete(caller.id);
  const b = await clerk.machines.delete(target.id);
  return [a.deleted, b.deleted];
});
// -- end of machines and M2M tokens ---------------------------------------------------
await step("deleteUser", async () => {
  const deleted = await clerk.users.deleteUser(user.id);
  return { id: deleted.id, deleted: deleted.deleted };
});

console.log(JSON.stringify(out));
process.exit(0); // the host's answers stream stays open
