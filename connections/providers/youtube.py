"""YouTube: Google OAuth 2.0 for web server applications.

Documented behaviour relied on (Google Identity, "Using OAuth 2.0 for Web Server Applications"):
the browser goes to `GET accounts.google.com/o/oauth2/v2/auth` with client_id, redirect_uri,
response_type=code, space-separated scope, state, `access_type=offline` (so a refresh token is
issued), `prompt=consent`, `include_granted_scopes=true` and a PKCE S256 challenge; the code comes back
to the redirect URI with `state` (or `error=access_denied`). `POST oauth2.googleapis.com/token`
(form: code, client_id, client_secret, redirect_uri, grant_type=authorization_code, code_verifier)
answers access_token, expires_in (about an hour), refresh_token, scope (the scopes granted,
space-separated: a user may untick some) and token_type Bearer; the same endpoint with
grant_type=refresh_token refreshes (no new refresh token). Errors are `{"error": "invalid_grant",
"error_description": ...}`. `POST oauth2.googleapis.com/revoke` with `token` revokes the grant.
The account: YouTube Data API v3 `channels.list?part=snippet&mine=true` (items[0].id, snippet.title).
"""

from connections.providers.base import Account, OAuthProvider, TokenSet
from phantoms.encryption import Secret

SCOPE = "https://www.googleapis.com/auth/"


class YouTube(OAuthProvider):
    platform = "youtube"
    label = "YouTube"
    authorize_endpoint = ("accounts", "/o/oauth2/v2/auth")
    token_endpoint = ("oauth2", "/token")
    revoke_endpoint = ("oauth2", "/revoke")
    account_endpoint = ("api", "/youtube/v3/channels")
    scopes = [f"{SCOPE}youtube.upload", f"{SCOPE}youtube.readonly", f"{SCOPE}yt-analytics.readonly"]
    pkce = True

    def authorize_params(self, **kwargs) -> dict:
        return {**super().authorize_params(**kwargs), "access_type": "offline", "prompt": "consent",
                "include_granted_scopes": "true"}

    def _tokens(self, body: dict) -> TokenSet:
        return TokenSet(access_token=Secret(body["access_token"]), refresh_token=Secret(body.get("refresh_token", "")),
                        expires_in=body.get("expires_in"), scopes=self.parse_scopes(body.get("scope")))

    def exchange(self, *, code, redirect_uri, code_verifier) -> TokenSet:
        body = self.call("POST", self.url(self.token_endpoint), secrets_sent=[code, self.client_secret], data={
            "code": code, "client_id": self.client_id, "client_secret": self.client_secret,
            "redirect_uri": redirect_uri, "grant_type": "authorization_code", "code_verifier": code_verifier})
        return self._tokens(body)

    def refresh(self, access_token, refresh_token) -> TokenSet:
        body = self.call("POST", self.url(self.token_endpoint), secrets_sent=[refresh_token, self.client_secret], data={
            "client_id": self.client_id, "client_secret": self.client_secret,
            "refresh_token": refresh_token.reveal(), "grant_type": "refresh_token"})
        return self._tokens(body)

    def revoke(self, access_token, refresh_token) -> bool:
        # Revoking the refresh token revokes the whole grant, its access tokens with it.
        token = refresh_token or access_token
        self.call("POST", self.url(self.revoke_endpoint), secrets_sent=[token], data={"token": token.reveal()})
        return True

    def account(self, access_token) -> Account:
        body = self.call("GET", self.url(self.account_endpoint), secrets_sent=[access_token],
                         params={"part": "snippet", "mine": "true"},
                         headers={"Authorization": f"Bearer {access_token.reveal()}"})
        items = body.get("items") or []
        if not items:
            raise ValueError("account: this Google account has no YouTube channel")
        return Account(id=items[0]["id"], name=items[0].get("snippet", {}).get("title", items[0]["id"]))
