"""Instagram: the Instagram API with Instagram Login (business login).

Documented behaviour relied on (Meta, Instagram Platform, "Business Login for Instagram", "Access
Token" and "Refresh Access Token" references): the browser goes to `GET www.instagram.com/oauth/authorize`
with client_id, redirect_uri, response_type=code, comma-separated scope and state. `POST
api.instagram.com/oauth/access_token` (form: client_id, client_secret, grant_type=authorization_code,
redirect_uri, code) answers `{"data": [{"access_token", "user_id", "permissions"}]}`: a short-lived
token (an hour) and the permissions granted. `GET graph.instagram.com/access_token?grant_type=
ig_exchange_token&client_secret=…&access_token=…` exchanges it for a long-lived token (`access_token`,
`token_type`, `expires_in`, about 60 days), and `GET graph.instagram.com/refresh_access_token?
grant_type=ig_refresh_token&access_token=…` refreshes a long-lived token that has not expired. There
is no refresh token: the long-lived token refreshes itself, and there is no revocation endpoint (an
account removes the app from its settings). Graph errors are `{"error": {"message", "type":
"OAuthException", "code": 190, ...}}`, 190 meaning the token is invalid or expired. The account:
`GET graph.instagram.com/me?fields=user_id,username`.
"""

from connections.providers.base import Account, OAuthProvider, TokenSet
from phantoms.encryption import Secret


class Instagram(OAuthProvider):
    platform = "instagram"
    label = "Instagram"
    authorize_endpoint = ("www", "/oauth/authorize")
    token_endpoint = ("api", "/oauth/access_token")
    exchange_endpoint = ("graph", "/access_token")
    refresh_endpoint = ("graph", "/refresh_access_token")
    account_endpoint = ("graph", "/me")
    scopes = ["instagram_business_basic", "instagram_business_content_publish", "instagram_business_manage_insights"]
    scope_separator = ","
    # A long-lived token lives about 60 days and may be refreshed once it is a day old: refresh
    # well before the end, so a channel that posts weekly never meets an expired token.
    refresh_margin = 7 * 24 * 3600.0

    def refused(self, body) -> bool:
        error = body.get("error") if isinstance(body, dict) else None
        return (isinstance(error, dict) and error.get("code") in (190, 102)) or (
            isinstance(body, dict) and body.get("error_type") == "OAuthException")

    def describe_error(self, body, response):
        if isinstance(body, dict) and "error_message" in body:
            return str(body.get("error_type", "OAuthException")), str(body["error_message"])
        return super().describe_error(body, response)

    def body_error(self, body) -> bool:
        return isinstance(body, dict) and ("error" in body or "error_message" in body)

    def exchange(self, *, code, redirect_uri, code_verifier) -> TokenSet:
        body = self.call("POST", self.url(self.token_endpoint), secrets_sent=[code, self.client_secret], data={
            "client_id": self.client_id, "client_secret": self.client_secret, "grant_type": "authorization_code",
            "redirect_uri": redirect_uri, "code": code})
        short = (body.get("data") or [body])[0]
        short_token = Secret(short["access_token"])
        long = self.call("GET", self.url(self.exchange_endpoint), secrets_sent=[short_token, self.client_secret],
                         params={"grant_type": "ig_exchange_token", "client_secret": self.client_secret,
                                 "access_token": short_token.reveal()})
        return TokenSet(access_token=Secret(long["access_token"]), expires_in=long.get("expires_in"),
                        scopes=self.parse_scopes(short.get("permissions")), account_id=str(short.get("user_id", "")))

    def refresh(self, access_token, refresh_token) -> TokenSet:
        body = self.call("GET", self.url(self.refresh_endpoint), secrets_sent=[access_token],
                         params={"grant_type": "ig_refresh_token", "access_token": access_token.reveal()})
        return TokenSet(access_token=Secret(body["access_token"]), expires_in=body.get("expires_in"))

    def account(self, access_token) -> Account:
        body = self.call("GET", self.url(self.account_endpoint), secrets_sent=[access_token],
                         params={"fields": "user_id,username", "access_token": access_token.reveal()})
        return Account(id=str(body.get("user_id") or body["id"]), name=body.get("username") or str(body.get("id")))
