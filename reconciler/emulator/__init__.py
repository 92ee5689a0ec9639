"""An emulator of the Admin SDK Directory API, Data Transfer API, Licensing API and Groups
Settings API, and of the Gmail API's send, faithful enough for the real googleapiclient.

It holds one Google Workspace tenant (domains and domain aliases, users with their tokens,
ASPs and backup codes, groups and their members, org units, custom user schemas, data
transfers, license seats and assignments, groups' settings) and answers the Directory API's,
the Data Transfer API's, the Licensing API's and the Groups Settings API's methods with
Google's resource shapes, error shapes and semantics, so plans and applies can be tried, and
integration tests run, without reaching Google. The tenant starts from a seed in the API's
own shapes and persists across restarts.

Modules: `store` (TenantStore: the tenant, its seed, persistence), `tenant` (the in-memory
model, its indexes and journaled mutations), `seed` (seed and state documents), `journal`
(snapshot + append-only journal), `api` (DirectoryApi: routing, consistency delay, short
reads, listing lag) with `api_users`, `api_groups`, `api_members`, `api_orgunits`,
`api_schemas`, `api_domains` (over `domains`: the tenant's domains and which addresses may
use), `api_security` (over `user_security`: tokens, ASPs, backup codes, sign-outs),
`api_datatransfer` (over `transfers`: the Data Transfer API), `api_licensing` (over
`licenses`: the Licensing API), `api_groupssettings` (over `group_settings`: the Groups
Settings API), `lag` (what lagging listings
still show), and `fields` (partial responses), `discovery` (the bundled discovery documents:
`fields` names are checked against their response schemas), `query` (search), `paging`,
`rules`, `errors`, `request`. `server` puts it on HTTP, with `batch` (the multipart wire
format), `auth` (the token endpoint and the Bearer token of every call) and `faults`
(latency, injected faults, quota, batch order, stats). The `graph` package emulates
Microsoft Graph v1.0 and the Microsoft identity platform's token endpoint for the export to
Entra ID (its own tenant, `GraphApi`, `GraphServer`); `server` can answer it on its port.

Choices where Google's behaviour is undocumented (or where we simplify), so tests and users
know what to expect:

Listings
- Users are listed by primary email (`orderBy` familyName/givenName and `sortOrder` are
  supported), groups by email, members by member id, org units by path.
- Page tokens are opaque, hold the last key returned and a digest of the listing's
  parameters: writes between pages never repeat an item nor skip one that existed
  throughout; a token used with other parameters is `400 invalid` "Invalid page token.";
  tokens do not expire (Google: 3 days).
- users.list `maxResults` must be 1-500 (`400 invalid`, "Values must be within the range:
  [1, 500]"); for groups and members values above 200 are capped at 200 (the discovery
  document declares no maximum there), below 1 is a 400.
- An empty listing has no item key (`users`, `groups`, `members`, `aliases`,
  `organizationUnits`, `schemas`), as Google's.
- users.list needs `customer` (`my_customer` or the tenant's id) or `domain`; neither, or
  another customer: `400 badRequest` "Bad Request"; a domain not in the tenant:
  `404 notFound` "Domain not found.". `showDeleted=true` lists deleted users only.
- `query` (users): email, givenName, familyName, name, a bare term, isAdmin, isSuspended,
  isArchived, isDelegatedAdmin, isEnrolledIn2Sv, isEnforcedIn2Sv, orgUnitPath (the unit and
  everything below it; an unknown unit is "Invalid Input: INVALID_OU_ID"), externalId,
  org* fields, phone, manager/directManager(+Id), and `Schema.field`; groups: email, name,
  memberKey. `=` is equality, `:` a whole-word match, `:abc*` a prefix; case is ignored.
  Any other field is `400 invalid` "Invalid query: …", never an empty result. A filtered
  listing scans from the cursor (O(matches skipped)); an `email:` query uses the index.
- `includeDerivedMembership`: direct members, then the members of nested groups, each once.
- Listings show a new user or group at once, even within the consistency delay (unless
  they lag writes: `listing_lag_ms`, below).

Writes
- users.update and users.patch keep fields the body leaves out and clear fields set to
  null (Google documents this for update); patch ignores null or [] for repeated fields
  (Google: patch cannot clear them). groups, members and org units: update = patch.
- Read-only fields in a body (id, etag, isAdmin, aliases, creationTime…) and unknown fields
  are ignored. Passwords are checked (8-100 characters unless `hashFunction` is MD5, SHA-1
  or crypt) and then dropped: never stored, never returned, never written to disk.
- Required fields missing: `400 required` "Missing required field: name.givenName" (also
  primaryEmail, password, name.familyName; email for groups and members; name and
  parentOrgUnitPath for org units; schemaName, fields, fieldName, fieldType for schemas).
  Bad values use Google's messages: "Invalid Password", "Invalid Input: primary_user_email",
  "Invalid Given/Family Name: GivenName", "Invalid Input: INVALID_OU_ID".
- An address (user, group, alias) outside the tenant's domains: `404 notFound` "Domain not
  found." Any address already used by a user or group, as primary or alias: `409
  duplicate` "Entity already exists."; an existing member: "Member already exists.".
- Renaming a user or a group appends the old address to `aliases` (the old address still
  finds it). Renaming to one of its own aliases is `409 duplicate` "Entity already exists."
  until that alias is removed (Google's knowledge base; for groups by analogy). Deleting an
  alias the user or group does not have: `400 invalid` "Invalid Input: resource_id".
- At most 30 aliases per user or group (admin help): the 31st, or a rename that would make
  the old address the 31st, is `412 limitExceeded` "Alias limit exceeded: ..." (the reason
  is GAM's; status and message are our choice).
- Suspending sets `suspensionReason` ADMIN. Lifting any other reason (a seed may say ABUSE,
  UNDER13, WEB_LOGIN_REQUIRED…) is `412 adminCannotUnsuspend` "Cannot restore a user
  suspended for abuse.".
- Deleting a user removes its memberships (undelete does not restore them); deleted users
  are kept 20 days, undeleted by id only, and undelete is `409 duplicate` when one of the
  user's addresses has been taken since. Deleting a group removes it from other groups.
- A group's default name is its email's local part; description defaults to "".
- Cyclic memberships (a group in itself, directly or through others): `412
  conditionNotMet` "Cyclic memberships not allowed" (a seed checks only self-membership).
- Etags are a hash chain: every write changes the resource's etag; adding or removing a
  member also changes the group's; listings carry an etag of the tenant's write count.

Members
- `type` is always present: USER, GROUP, EXTERNAL (an address outside the tenant's
  domains), CUSTOMER (member id = the customer id). `status` is SUSPENDED for a suspended
  user, ACTIVE for other users, groups and the customer, and absent (as Google omits it)
  for EXTERNAL members and for members listed without an account behind them (below).
  `delivery_settings` is returned by get, insert, update and patch (default ALL_MAIL), not
  by listings, as the discovery document says.
- An external member's id is derived from its address: the same in every group.
- Consumer Gmail members (gmail.com, googlemail.com) are stored and listed under one
  spelling, whatever spelling added them: lower-case, the name without dots or `+tag`, on
  gmail.com (Google lists the account's own spelling; the emulator has no accounts, so it
  uses this one). Any spelling finds the member (get, update, patch, delete, hasMember,
  groups.list userKey); inserting another spelling of a member is `409 duplicate` "Member
  already exists.". Dots and `+tag` of other domains are part of the address.
- A seed may hold a member in the tenant's domains that no user or group has, written with
  `status: null`, type USER (default) or GROUP: Google lists such members (added before
  the account existed, or left by one that is gone) without status. Its address finds it,
  also once an account has that address (inserting that account is then a 409); it is no
  nested group. The API cannot create one.
- Inserting an address in the tenant's domains that is no user or group: `404 notFound`
  "Resource Not Found: memberKey". Deleting a user, group or known address that is not a
  member: `400 required` "Missing required field: memberKey" (a key that names nothing: 404).
- hasMember follows nested groups; an external memberKey with nested groups is `400
  invalid` "Invalid Input: memberKey" (as documented); an unknown external address is
  simply not a member; an unknown address in the tenant's domains is a 404.

Eventual consistency (`consistency_delay_s`)
- Within the delay after its insert, a user answers reads (get, aliases.list) with `404
  notFound` "Resource Not Found: userKey" and writes (update, patch, delete, makeAdmin,
  signOut, aliases) with `412 conditionNotMet` "User creation is not complete."; adding it
  to a group is `404` "Resource Not Found: memberKey". A new group answers every call with
  `404` "Resource Not Found: groupKey". The new address of a renamed user or group settles
  the same way: within the delay it finds nothing (`404` userKey, groupKey or memberKey, for
  reads and writes alike), while the old address (now an alias) and the id work at once; so
  does a rename to an alias the user or group has just removed (a rename to one it still
  has is refused, above). The delay is not persisted: after a restart everything is settled.

Listing lag (`listing_lag_ms`)
- For that long after a write, users.list, groups.list, members.list and orgunits.list show
  what it changed as it was before: a new item not at all, a deleted one still (a deleted
  user's memberships with the address and status they had), a changed or renamed one as it
  was (writes within the lag: the state before the first). Gets show everything as it is.
  Paging and queries work on what the listing shows. A restored (undeleted) user appears
  in users.list after the lag, like a new one; the deleted users' listing
  (`showDeleted=true`) does not lag.
- A group's directMembersCount is counted when it is read, in listings too: a member listing
  that lags disagrees with it. A deleted group still listed shows the count it had, and its
  members answer 404. Derived memberships and groups.list?userKey= do not lag.
- The cost is O(changes): per item written, its earlier state until the lag passes. Not
  persisted: after a restart listings have caught up.

Authorization (details in auth.py and docs/emulator.md)
- `POST /token` answers a JWT-bearer grant (the signature is not checked). A `sub` that is no
  user of the tenant: `400 invalid_grant` "Invalid email or User ID"; with a `sub`, a scope
  outside the option `delegated_scopes` (default: any): `401 unauthorized_client`. Tokens
  remember their scopes and subject, last an hour, and live in memory only.
- Every API call and batch part needs one (a part's own Authorization header, else the
  batch's): none, unknown or expired: `401 authError` (UNAUTHENTICATED); scopes that the
  discovery document does not list for the method (read-only scopes are listed for reads
  only): `403 insufficientPermissions`; a subject who is not a super admin and holds no role
  assignment covering the method (below), or a service account acting as itself outside
  `admin_service_accounts` (default: every one): `403 forbidden` "Not Authorized to access
  this resource/api"; an API named in the option `disabled_apis` (not enabled in the
  caller's project): `403 accessNotConfigured`. Checked before quota and faults.

Admin roles (admin_roles.py, role_seed.py, api_roles.py; docs/emulator.md)
- System roles `_SEED_ADMIN_ROLE` (super admin), `_GROUPS_ADMIN_ROLE`,
  `_USER_MANAGEMENT_ADMIN_ROLE`, `_HELP_DESK_ADMIN_ROLE`, and a seed's `roles` (custom roles
  by privilege name: USERS_*, GROUPS_*, ORGANIZATION_UNITS_*) and `roleAssignments` (a user,
  a role, scope CUSTOMER or ORG_UNIT). A delegated admin (holding an assignment, not
  isAdmin) may call what its roles' privileges cover, by the emulator's reading of Google's
  admin help (admin_roles.py; where unsure: super admin only); an ORG_UNIT-scoped role only
  calls on one user within the unit. users' `isDelegatedAdmin` is computed from the
  assignments (and queried so); a deleted user loses its assignments.
- roles.list/get, roleAssignments.list (userKey, roleId; super admins listed as holders of
  `_SEED_ADMIN_ROLE`) and privileges.list are served, read-only, to super admins only.

Domains (domains.py)
- A seed's `domains` entry is a name or a Domains resource with `domainAliases`; the
  primary domain is the one marked `isPrimary`, else the first; `verified` defaults to true.
- Addresses may use verified domains and their verified domain aliases (primary addresses
  included); anything else is `404 notFound` "Domain not found.".
- domains.list/get and domainAliases.list/get are served (read-only; a token needs
  `admin.directory.domain` or its `.readonly`, as the discovery document lists);
  `creationTime` only when the seed gives it. An unknown domain or alias is `404 notFound`
  "Domain not found.".

Released addresses (`address_hold_s`, serve option `--address-hold-ms`)
- An address a call releases (a removed alias, the addresses of a deleted user or group) is
  held that long: claiming it (user or group insert, rename, alias insert), by anyone, is
  `409 duplicate` "Entity already exists.", as Google answers while it frees an address.
  Default 0: free at once. Not persisted, like the consistency delay.

Org units and schemas
- Paths ignore case everywhere (lookups, parents, users' orgUnitPath, queries); answers show
  the unit's own spelling, and a user's orgUnitPath is stored as the unit spells it. An
  insert that differs from a unit only by case inserts an existing path (below); a rename
  may change only the case.
- orgunits.list `type` defaults to `children`; the root is listed only with
  `allIncludingParent`. Unknown unit: `404 notFound` "Org unit not found"; unknown parent:
  `400 invalid` "Invalid Parent Orgunit Id"; inserting an existing path: `400 invalidOrgunit`
  "Invalid Ou Id" (moving or renaming onto one: `409 duplicate`); deleting a unit that still
  holds users or units: `412 conditionNotMet`. Renaming or moving a unit carries its sub-units
  and users along.
- Schema names are case-insensitive and cannot be changed (400); deleting a schema removes
  every user's values for it. customSchemas writes merge field by field, null removes;
  INT64 values may be numbers or numeric strings and are returned as given. Unknown
  schema or field, or a value of the wrong type: `400 invalid` "Invalid Input:
  custom_schema …".

Responses
- User fields Google computes have fixed values (isDelegatedAdmin is computed from role
  assignments, above): lastLoginTime
  1970-01-01T00:00:00.000Z, agreedToTerms false (a seed may set it), isMailboxSetup true,
  isEnrolledIn2Sv/isEnforcedIn2Sv false, ipWhitelisted false, includeInGlobalAddressList
  true; `emails` lists the primary address, the aliases, then any other addresses set.
- `viewType=domain_public` shows id, primaryEmail, name, emails, organizations, phones,
  relations, addresses, locations, websites and custom fields readable by all users.
- `fields` is honoured (nested selections, `*`); names absent from a body select nothing; a
  malformed selection, or a name the method's response schema (discovery document) does not
  have, is `400 invalidParameter` "Invalid field selection <name>" and the call is not run.
  Below free-form values (`customSchemas`, values of type `any` such as `emails`) any name
  is accepted; a sub-field of a plain value (`primaryEmail/x`) is refused.
- An unknown path or method: `404 notFound` "Not Found", method id `unknown`. An internal
  error: `500 backendError` (logged), like Google's backend.

A user's security state (user_security.py, api_security.py; docs/emulator.md)
- tokens, asps and verificationCodes are served per user (scope
  admin.directory.user.security); a listing with nothing has no `items` key. An unknown
  token is `404 notFound` "Resource Not Found: clientId"; an unknown ASP `400 invalid`
  "Invalid Input: codeId" (unverified; GAM never expects a 404 there). generate makes 10
  new 8-digit codes, invalidate removes them; both are `400 invalid` "Invalid Input" for a
  suspended user. users.signOut revokes nothing and is counted (`signOuts`,
  `lastSignOutTime` on the user's entry of the state). Deleted users keep theirs.

Data Transfer API (transfers.py, api_datatransfer.py; docs/emulator.md)
- Applications: Drive and Docs, Calendar, Looker Studio with Google's ids and parameters.
  A transfer is `inProgress` for `transfer_delay_ms` (default 200), then `completed`; the
  moment is stored with it. Owners must be user ids (an address is `400 invalid`); the new
  owner an active, settled user other than the old one. Seeds may hold transfers that
  stay `inProgress` or `failed`.

Licensing API (licenses.py, api_licensing.py; docs/emulator.md)
- Products and SKUs are those of reconciler/skus.py; the tenant subscribes to the SKUs its
  seed gives seats for. Users are named by their current primary address; assignments are
  kept by user id (a rename keeps them, a delete frees them). Pages hold 100 at most
  whatever maxResults asks. Chosen where Google's codes are unverified: no seats `412
  conditionNotMet`, the SKU held or another of the product `409 duplicate`, a SKU the
  tenant lacks `403 forbidden` "Unauthorized operation for the given domain.", an unknown
  user `400 invalid` "Invalid Input: userId".

Groups Settings API (group_settings.py, api_groupssettings.py; docs/emulator.md)
- A group is named by its primary address only (an alias or an id is 404 notFound, as is a
  group within the consistency delay after its insert or rename). Only `alt=json` is
  answered (400 invalidParameter otherwise: Google answers Atom XML). Settings are kept by
  group id (a rename keeps them, a delete drops them); defaults are the admin help's for API
  groups, the rest chosen. A bad value is `400 invalid` "Invalid Value" (message chosen);
  update (PUT) resets what its body leaves out to the defaults.

Gmail API (api_gmail.py; docs/emulator.md): users.messages.send only, as a user of the tenant
(delegation), to its own mailbox; nothing is delivered: the messages are kept in memory
(`EmulatorServer.messages()`, `GET /_emulator/messages`), never in the saved tenant.

Batches, faults, persistence (details in batch.py, faults.py, server.py, store.py)
- A batch holds the calls of one API (Directory, Data Transfer, Licensing or Gmail, all at
  `/batch`; Groups Settings at `/batch/groupssettings/v1` only); a mixed one is refused
  whole, 400.
- Batch parts run, and are answered, in request order; `batch_order: "shuffle"` runs them in
  a random order and answers them in another (Google: "in any order"), repeatable for a
  `fault_seed`. A delimiter counts only as a whole line; folded part headers are unfolded.
- Injected faults fail a call before it runs, except the opt-in kinds `backend_error_after`
  and `drop_after`, which run it (its changes stay) and then answer 503 or drop the
  connection (503 inside a batch).
- One process at a time holds a state file (`STATE.lock`; a second gets StateError naming
  the holder's pid). A write whose journal line cannot be written is undone and answered
  503 `backendError`. A tenant started from a seed has the same ids on every run.
- Requests from web pages are refused: a non-loopback `Origin` or `Sec-Fetch-Site:
  cross-site` is 403 `forbidden`; a non-JSON body on an API call or a `/_emulator/` POST
  is 415 `unsupportedMediaType`.

Short reads (testing a client's guard against partial listings): `DirectoryApi.short_listing`
maps a collection (users, groups, members, orgunits, domains) to how many items every listing
of it leaves out at its end (more than there are: nothing is listed); a page sequence then
ends early with no error and no nextPageToken, and a member listing returns fewer members
than the group's directMembersCount. Gets by key still find what listings leave out.
"""
