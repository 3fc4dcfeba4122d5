"""X: OAuth 2.0 Authorization Code Flow with PKCE (X API v2).

Documented behaviour relied on (X developer platform, "OAuth 2.0 Authorization Code Flow with
PKCE"): the browser goes to `GET x.com/i/oauth2/authorize` with response_type=code, client_id,
redirect_uri, space-separated scope, state, code_challenge and code_challenge_method=S256 (PKCE is
required). A confidential client authenticates to `POST api.x.com/2/oauth2/token` with HTTP Basic
(client id : client secret); form: code, grant_type=authorization_code, redirect_uri, code_verifier.
The answer: token_type bearer, expires_in (two hours), access_token, scope, and a refresh_token when
`offline.access` was granted; grant_type=refresh_token refreshes and returns a new refresh token (the
old one stops working). `POST /2/oauth2/revoke` (token, token_type_hint) revokes. The account:
`GET /2/users/me` → `{"data": {"id", "name", "username"}}`.
"""

from connections.providers.base import Account, OAuthProvider, TokenSet
from phantoms.encryption import Secret


class X(OAuthProvider):
    platform = "x"
    label = "X"
    authorize_endpoint = ("twitter", "/i/oauth2/authorize")
    token_endpoint = ("api", "/2/oauth2/token")
    revoke_endpoint = ("api", "/2/oauth2/revoke")
    account_endpoint = ("api", "/2/users/me")
    scopes = ["tweet.read", "tweet.write", "users.read", "media.write", "offline.access"]
    pkce = True

    def _tokens(self, body: dict) -> TokenSet:
        return TokenSet(access_token=Secret(body["access_token"]), refresh_token=Secret(body.get("refresh_token", "")),
                        expires_in=body.get("expires_in"), scopes=self.parse_scopes(body.get("scope")))

    @property
    def basic(self):
        return (self.client_id, self.client_secret)

    def exchange(self, *, code, redirect_uri, code_verifier) -> TokenSet:
        return self._tokens(self.call("POST", self.url(self.token_endpoint), secrets_sent=[code, self.client_secret],
                                      auth=self.basic, data={"code": code, "grant_type": "authorization_code",
                                                             "redirect_uri": redirect_uri,
                                                             "code_verifier": code_verifier}))

    def refresh(self, access_token, refresh_token) -> TokenSet:
        return self._tokens(self.call("POST", self.url(self.token_endpoint),
                                      secrets_sent=[refresh_token, self.client_secret], auth=self.basic,
                                      data={"grant_type": "refresh_token", "refresh_token": refresh_token.reveal()}))

    def revoke(self, access_token, refresh_token) -> bool:
        for token, hint in ((refresh_token, "refresh_token"), (access_token, "access_token")):
            if token:
                self.call("POST", self.url(self.revoke_endpoint), secrets_sent=[token, self.client_secret],
                          auth=self.basic, data={"token": token.reveal(), "token_type_hint": hint})
        return True

    def account(self, access_token) -> Account:
        body = self.call("GET", self.url(self.account_endpoint), secrets_sent=[access_token],
                         headers={"Authorization": f"Bearer {access_token.reveal()}"})
        data = body.get("data") or {}
        return Account(id=data["id"], name=data.get("name") or data.get("username") or data["id"])
