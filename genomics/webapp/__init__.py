"""The web app: Cognito sign-in, project membership in the ledger, the JWT-authorised API and the one-page app."""
