"""TikTok: Login Kit for Web, OAuth v2.

Documented behaviour relied on (TikTok for Developers, "Login Kit for Web" and "Manage User Access
Tokens"): the browser goes to `GET www.tiktok.com/v2/auth/authorize/` with client_key, comma-separated
scope, response_type=code, redirect_uri and state. `POST open.tiktokapis.com/v2/oauth/token/` (form:
client_key, client_secret, code, grant_type=authorization_code, redirect_uri) answers open_id, scope
(comma-separated: the scopes the user agreed to), access_token, expires_in, refresh_token,
refresh_expires_in and token_type; grant_type=refresh_token refreshes and may return a new refresh
token, which replaces the old one. Errors are `{"error", "error_description", "log_id"}`.
`POST /v2/oauth/revoke/` (client_key, client_secret, token) revokes. The account: Display API
`GET /v2/user/info/?fields=open_id,display_name`, answered as `{"data": {"user": …}, "error":
{"code": "ok", …}}`.
"""

from connections.providers.base import Account, OAuthProvider, TokenSet
from phantoms.encryption import Secret


class TikTok(OAuthProvider):
    platform = "tiktok"
    label = "TikTok"
    authorize_endpoint = ("www", "/v2/auth/authorize/")
    token_endpoint = ("open", "/v2/oauth/token/")
    revoke_endpoint = ("open", "/v2/oauth/revoke/")
    account_endpoint = ("open", "/v2/user/info/")
    scopes = ["user.info.basic", "video.publish", "video.list"]
    scope_separator = ","

    def authorize_params(self, **kwargs) -> dict:
        params = super().authorize_params(**kwargs)
        params["client_key"] = params.pop("client_id")
        return params

    def body_error(self, body) -> bool:
        if not isinstance(body, dict):
            return False
        error = body.get("error")
        if isinstance(error, dict):
            return error.get("code") not in (None, "", "ok")
        return bool(error)

    def refused(self, body) -> bool:
        error = body.get("error") if isinstance(body, dict) else None
        return isinstance(error, dict) and error.get("code") in ("access_token_invalid", "scope_not_authorized")

    def _tokens(self, body: dict) -> TokenSet:
        return TokenSet(access_token=Secret(body["access_token"]), refresh_token=Secret(body.get("refresh_token", "")),
                        expires_in=body.get("expires_in"), refresh_expires_in=body.get("refresh_expires_in"),
                        scopes=self.parse_scopes(body.get("scope")), account_id=body.get("open_id", ""))

    def exchange(self, *, code, redirect_uri, code_verifier) -> TokenSet:
        return self._tokens(self.call("POST", self.url(self.token_endpoint), secrets_sent=[code, self.client_secret],
                                      data={"client_key": self.client_id, "client_secret": self.client_secret,
                                            "code": code, "grant_type": "authorization_code",
                                            "redirect_uri": redirect_uri}))

    def refresh(self, access_token, refresh_token) -> TokenSet:
        return self._tokens(self.call("POST", self.url(self.token_endpoint),
                                      secrets_sent=[refresh_token, self.client_secret],
                                      data={"client_key": self.client_id, "client_secret": self.client_secret,
                                            "grant_type": "refresh_token", "refresh_token": refresh_token.reveal()}))

    def revoke(self, access_token, refresh_token) -> bool:
        self.call("POST", self.url(self.revoke_endpoint), secrets_sent=[access_token, self.client_secret],
                  data={"client_key": self.client_id, "client_secret": self.client_secret,
                        "token": access_token.reveal()})
        return True

    def account(self, access_token) -> Account:
        body = self.call("GET", self.url(self.account_endpoint), secrets_sent=[access_token],
                         params={"fields": "open_id,display_name"},
                         headers={"Authorization": f"Bearer {access_token.reveal()}"})
        user = (body.get("data") or {}).get("user") or {}
        return Account(id=user["open_id"], name=user.get("display_name") or user["open_id"])
