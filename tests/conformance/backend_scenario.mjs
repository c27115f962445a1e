// A scenario of @clerk/backend calls against the Backend API at CLERK_API_URL.
// Prints one JSON object: what each step returned, for the Python side to check.
import { createClerkClient, verifyToken } from "@clerk/backend";

const secretKey = process.env.CLERK_SECRET_KEY;
const apiUrl = process.env.CLERK_API_URL;
const clerk = createClerkClient({ secretKey, apiUrl });
const out = {};

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
await step("deleteUser", async () => {
  const deleted = await clerk.users.deleteUser(user.id);
  return { id: deleted.id, deleted: deleted.deleted };
});

console.log(JSON.stringify(out));
