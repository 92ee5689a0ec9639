"""Microsoft Graph v1.0 and the Microsoft identity platform's token endpoint, emulated.

The export of groups to Microsoft Entra ID talks to two Microsoft hosts: the identity
platform (`login.microsoftonline.com`, an app-only token by the client-credentials grant)
and Graph (`graph.microsoft.com/v1.0`: users, security groups, their members and open
extensions, JSON batches). This package answers both on loopback, from one in-memory tenant:

- `tenant`: `GraphTenant`, the Entra tenant (app registrations, users, groups), its seed
  file and its state file;
- `errors`: Graph's and the identity platform's error bodies;
- `auth`: the token endpoint, the OpenID configuration and the permission each call needs;
- `query`: `$select`, `$top`, `$filter`, `$expand` and `$skiptoken` as Graph reads them;
- `api`: `GraphApi`, which routes one request (or one batch item) and holds the faults and
  the stats; `batch`: JSON `$batch`;
- `server`: `GraphServer`, the same on its own loopback HTTP server.
"""
