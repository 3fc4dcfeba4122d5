"""The sandbox as each platform's OAuth 2.0 authorization server (consent page, token, refresh, revoke, "who am I")."""
