"""Microsoft Entra ID: the Git groups marked `entra: true`, exported as security groups
through Microsoft Graph (the client, the read, the target and its runner)."""
