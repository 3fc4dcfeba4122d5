"""The four platforms' authorization servers, in their documented shapes (connections/providers/ cites them).

Google (YouTube): `/o/oauth2/v2/auth`, `/token`, `/revoke`, and YouTube Data API `channels?mine=true`.
TikTok: `/v2/auth/authorize/`, `/v2/oauth/token/`, `/v2/oauth/revoke/`, `/v2/user/info/`.
Instagram (Instagram Login): `/oauth/authorize`, `/oauth/access_token`, `/access_token`
(ig_exchange_token), `/refresh_access_token` (ig_refresh_token), `/me`.
X: `/i/oauth2/authorize` (PKCE required), `/2/oauth2/token`, `/2/oauth2/revoke`, `/2/users/me`.

Each is mounted at /sandbox/oauth/<platform>/<host>/ (settings.OAUTH_HOSTS). The consent page lets
the person pick the account's name and untick permissions, as the real pages do.
"""

import base64
import secrets
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sandbox.oauth import store
from sandbox.oauth.store import OAuthFault

# Lifetimes in seconds, as documented: (access, refresh); None = does not expire.
LIFETIMES = {
    "youtube": (3599, None),
    "tiktok": (86400, 365 * 86400),
    "instagram_short": (3600, None),
    "instagram": (60 * 86400, None),
    "x": (7200, 180 * 86400),
}
GOOGLE = "https://www.googleapis.com/auth/"
KNOWN_SCOPES = {
    "youtube": {f"{GOOGLE}youtube.upload", f"{GOOGLE}youtube.readonly", f"{GOOGLE}yt-analytics.readonly",
                f"{GOOGLE}youtube"},
    "tiktok": {"user.info.basic", "user.info.profile", "user.info.stats", "video.publish", "video.upload",
               "video.list"},
    "instagram": {"instagram_business_basic", "instagram_business_content_publish",
                  "instagram_business_manage_insights", "instagram_business_manage_comments",
                  "instagram_business_manage_messages"},
    "x": {"tweet.read", "tweet.write", "users.read", "media.write", "offline.access", "like.read", "like.write"},
}
LABELS = {"youtube": "Google (YouTube)", "tiktok": "TikTok", "instagram": "Instagram", "x": "X"}
SEPARATOR = {"youtube": " ", "tiktok": ",", "instagram": ",", "x": " "}
CLIENT_PARAM = {"tiktok": "client_key"}


def _client(platform: str) -> tuple[str, str]:
    return settings.OAUTH_CLIENTS[platform]


def _log_id() -> str:
    return secrets.token_hex(16)


# --- the consent page ---------------------------------------------------------------------------

def _redirect(uri: str, params: dict) -> HttpResponseRedirect:
    joiner = "&" if urlsplit(uri).query else "?"
    return HttpResponseRedirect(f"{uri}{joiner}{urlencode(params)}")


def _page_error(request, platform: str, message: str, status: int = 400):
    return render(request, "sandbox/oauth_error.html", {"platform": LABELS[platform], "message": message},
                  status=status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def authorize(request, platform: str):
    """GET shows the consent page; its form POSTs the person's decision back here."""
    params = request.GET if request.method == "GET" else request.POST
    client_id = params.get(CLIENT_PARAM.get(platform, "client_id"), "")
    redirect_uri = params.get("redirect_uri", "")
    state = params.get("state", "")
    # Errors about the client or the redirect URI are shown here, never redirected (RFC 6749 §4.1.2.1).
    if client_id != _client(platform)[0]:
        return _page_error(request, platform, f"{CLIENT_PARAM.get(platform, 'client_id')}: unknown client "
                                              f"{client_id!r}")
    if urlsplit(redirect_uri).scheme not in ("http", "https"):
        return _page_error(request, platform, "redirect_uri: missing or not an http(s) URL")
    if params.get("response_type") != "code":
        return _redirect(redirect_uri, {"error": "unsupported_response_type", "state": state})
    requested = [s for s in params.get("scope", "").replace(",", " ").split() if s]
    unknown = [s for s in requested if s not in KNOWN_SCOPES[platform]]
    if not requested or unknown:
        return _redirect(redirect_uri, {"error": "invalid_scope", "state": state,
                                        "error_description": f"unknown scope: {', '.join(unknown) or '(none)'}"})
    challenge = params.get("code_challenge", "")
    if platform == "x" and not challenge:
        return _redirect(redirect_uri, {"error": "invalid_request", "state": state,
                                        "error_description": "Missing required parameter [code_challenge]."})
    if challenge and params.get("code_challenge_method", "plain") != "S256":
        return _redirect(redirect_uri, {"error": "invalid_request", "state": state,
                                        "error_description": "code_challenge_method must be S256"})
    if request.method == "GET":
        hidden = {k: v for k, v in params.items() if k not in ("decision", "grant", "account_name")}
        return render(request, "sandbox/oauth_consent.html", {
            "platform": LABELS[platform], "scopes": requested, "hidden": hidden.items(),
            "account_name": "Sandbox Creator"})
    if request.POST.get("decision") != "allow":
        return _redirect(redirect_uri, {"error": "access_denied", "state": state,
                                        "error_description": "The user denied the request."})
    granted = [s for s in requested if s in request.POST.getlist("grant")]
    name = (request.POST.get("account_name") or "").strip()[:80] or "Sandbox Creator"
    code = store.issue_code(platform=platform, client_id=client_id, redirect_uri=redirect_uri, scopes=granted,
                            account_name=name, code_challenge=challenge)
    answer = {"code": code, "state": state}
    if platform == "youtube":
        answer["scope"] = " ".join(granted)
    return _redirect(redirect_uri, answer)


# --- client authentication and the token endpoints ---------------------------------------------

def _basic(request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return client_id, secret


def _authenticate(request, platform: str) -> str:
    """RFC 6749 §2.3.1: HTTP Basic or client_id/client_secret in the body; returns the client id."""
    expected_id, expected_secret = _client(platform)
    basic = _basic(request)
    client_id, secret = basic or (request.POST.get(CLIENT_PARAM.get(platform, "client_id"), ""),
                                  request.POST.get("client_secret", ""))
    if client_id != expected_id or secret != expected_secret:
        raise OAuthFault("invalid_client", "Client authentication failed.", status=401)
    return client_id


def _oauth_error(exc: OAuthFault, *, platform: str) -> JsonResponse:
    body = {"error": exc.error, "error_description": exc.description}
    if platform == "tiktok":
        body["log_id"] = _log_id()
    if platform == "x" and exc.error == "invalid_grant":
        # X answers a bad code or refresh token as invalid_request.
        body["error"] = "invalid_request"
    return JsonResponse(body, status=exc.status)


def _grant_from(request, platform: str, client_id: str, *, rotate: bool, unsupported: str):
    """The grant a token request speaks for: a code, redeemed once, or a refresh token (spent when the
    platform rotates them). `unsupported` is the platform's words for any other grant_type."""
    grant_type = request.POST.get("grant_type")
    if grant_type == "authorization_code":
        return store.redeem_code(platform=platform, client_id=client_id, code=request.POST.get("code", ""),
                                 redirect_uri=request.POST.get("redirect_uri", ""),
                                 code_verifier=request.POST.get("code_verifier")), grant_type
    if grant_type == "refresh_token":
        grant, _ = store.use_refresh_token(platform=platform, client_id=client_id,
                                           value=request.POST.get("refresh_token", ""), rotate=rotate)
        return grant, grant_type
    raise OAuthFault("unsupported_grant_type", unsupported.format(grant_type=grant_type))


@csrf_exempt
@require_POST
def google_token(request):
    try:
        client_id = _authenticate(request, "youtube")
        access_seconds, _ = LIFETIMES["youtube"]
        # Google does not rotate refresh tokens: a refresh answers an access token alone.
        grant, grant_type = _grant_from(request, "youtube", client_id, rotate=False,
                                        unsupported="Invalid grant_type: {grant_type}")
        first = grant_type == "authorization_code"
        access, refresh = store.issue_tokens(grant, access_seconds=access_seconds, with_refresh=first, prefix="ya29.")
        body = {"access_token": access.value, "expires_in": access_seconds, "scope": " ".join(grant.scopes),
                "token_type": "Bearer"}
        if first:
            body["refresh_token"] = refresh.value
        return JsonResponse(body)
    except OAuthFault as exc:
        return _oauth_error(exc, platform="youtube")


@csrf_exempt
@require_POST
def google_revoke(request):
    token = store.find_token("youtube", request.POST.get("token", ""))
    if token is None or token.grant.revoked_at is not None:
        return JsonResponse({"error": "invalid_token", "error_description": "Token expired or revoked"}, status=400)
    store.revoke_grant(token.grant)
    return JsonResponse({})


def _bearer(request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@require_GET
def youtube_channels(request):
    grant = store.bearer_grant("youtube", _bearer(request))
    if grant is None:
        return JsonResponse({"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                                       "errors": [{"message": "Invalid Credentials", "domain": "global",
                                                   "reason": "authError", "location": "Authorization",
                                                   "locationType": "header"}],
                                       "status": "UNAUTHENTICATED"}}, status=401)
    if not {f"{GOOGLE}youtube.readonly", f"{GOOGLE}youtube"} & set(grant.scopes):
        return JsonResponse({"error": {"code": 403, "message": "Request had insufficient authentication scopes.",
                                       "errors": [{"message": "Insufficient Permission", "domain": "global",
                                                   "reason": "insufficientPermissions"}],
                                       "status": "PERMISSION_DENIED"}}, status=403)
    if request.GET.get("mine") != "true":
        return JsonResponse({"kind": "youtube#channelListResponse", "items": []})
    return JsonResponse({"kind": "youtube#channelListResponse", "pageInfo": {"totalResults": 1, "resultsPerPage": 5},
                         "items": [{"kind": "youtube#channel", "id": grant.account_id,
                                    "snippet": {"title": grant.account_name}}]})


@csrf_exempt
@require_POST
def tiktok_token(request):
    try:
        client_id = _authenticate(request, "tiktok")
        access_seconds, refresh_seconds = LIFETIMES["tiktok"]
        # Refresh tokens are rotated: the one sent stops working once a new one is issued.
        grant, _ = _grant_from(request, "tiktok", client_id, rotate=True,
                               unsupported="grant_type {grant_type!r} is not supported.")
        access, refresh = store.issue_tokens(grant, access_seconds=access_seconds, refresh_seconds=refresh_seconds,
                                             prefix="act.")
        return JsonResponse({"access_token": access.value, "expires_in": access_seconds, "open_id": grant.account_id,
                             "refresh_expires_in": refresh_seconds, "refresh_token": refresh.value,
                             "scope": ",".join(grant.scopes), "token_type": "Bearer"})
    except OAuthFault as exc:
        return _oauth_error(exc, platform="tiktok")


@csrf_exempt
@require_POST
def tiktok_revoke(request):
    try:
        _authenticate(request, "tiktok")
    except OAuthFault as exc:
        return _oauth_error(exc, platform="tiktok")
    token = store.find_token("tiktok", request.POST.get("token", ""))
    if token is not None:
        store.revoke_grant(token.grant)
    return JsonResponse({})


@require_GET
def tiktok_user_info(request):
    grant = store.bearer_grant("tiktok", _bearer(request))
    if grant is None:
        return JsonResponse({"data": {}, "error": {
            "code": "access_token_invalid", "log_id": _log_id(),
            "message": "The access token is invalid or not found in the request."}}, status=401)
    if "user.info.basic" not in grant.scopes:
        return JsonResponse({"data": {}, "error": {
            "code": "scope_not_authorized", "log_id": _log_id(),
            "message": "The user did not authorize the scope required for completing this request."}}, status=401)
    fields = [f for f in request.GET.get("fields", "").split(",") if f]
    user = {"open_id": grant.account_id, "union_id": f"u-{grant.account_id}", "display_name": grant.account_name,
            "avatar_url": ""}
    return JsonResponse({"data": {"user": {k: v for k, v in user.items() if k in fields} if fields else user},
                         "error": {"code": "ok", "message": "", "log_id": _log_id()}})


def _graph_error(message: str, code: int = 190, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": {"message": message, "type": "OAuthException", "code": code,
                                   "fbtrace_id": secrets.token_urlsafe(12)}}, status=status)


@csrf_exempt
@require_POST
def instagram_access_token(request):
    client_id, secret = _client("instagram")
    if request.POST.get("client_id") != client_id or request.POST.get("client_secret") != secret:
        return JsonResponse({"error_type": "OAuthException", "code": 400,
                             "error_message": "Invalid platform app"}, status=400)
    if request.POST.get("grant_type") != "authorization_code":
        return JsonResponse({"error_type": "OAuthException", "code": 400,
                             "error_message": "Invalid grant_type"}, status=400)
    try:
        grant = store.redeem_code(platform="instagram", client_id=client_id, code=request.POST.get("code", ""),
                                  redirect_uri=request.POST.get("redirect_uri", ""))
    except OAuthFault as exc:
        return JsonResponse({"error_type": "OAuthException", "code": 400,
                             "error_message": "Error validating verification code. " + exc.description}, status=400)
    short, _ = store.issue_tokens(grant, access_seconds=LIFETIMES["instagram_short"][0], with_refresh=False,
                                  prefix="IGQ")
    return JsonResponse({"data": [{"access_token": short.value, "user_id": grant.account_id,
                                   "permissions": ",".join(grant.scopes)}]})


@require_GET
def instagram_exchange(request):
    if request.GET.get("grant_type") != "ig_exchange_token":
        return _graph_error("grant_type must be ig_exchange_token", code=100)
    if request.GET.get("client_secret") != _client("instagram")[1]:
        return _graph_error("Error validating client secret.", code=101)
    grant = store.bearer_grant("instagram", request.GET.get("access_token", ""))
    if grant is None:
        return _graph_error("Error validating access token: Session has expired or the token is invalid.")
    seconds = LIFETIMES["instagram"][0]
    token, _ = store.issue_tokens(grant, access_seconds=seconds, with_refresh=False, prefix="IGAA")
    return JsonResponse({"access_token": token.value, "token_type": "bearer", "expires_in": seconds})


@require_GET
def instagram_refresh(request):
    if request.GET.get("grant_type") != "ig_refresh_token":
        return _graph_error("grant_type must be ig_refresh_token", code=100)
    grant = store.bearer_grant("instagram", request.GET.get("access_token", ""))
    if grant is None:
        return _graph_error("Error validating access token: Session has expired or the token is invalid.")
    seconds = LIFETIMES["instagram"][0]
    token, _ = store.issue_tokens(grant, access_seconds=seconds, with_refresh=False, prefix="IGAA")
    return JsonResponse({"access_token": token.value, "token_type": "bearer", "expires_in": seconds})


@require_GET
def instagram_me(request):
    grant = store.bearer_grant("instagram", request.GET.get("access_token", "") or _bearer(request))
    if grant is None:
        return _graph_error("Error validating access token: Session has expired or the token is invalid.")
    fields = [f for f in request.GET.get("fields", "id").split(",") if f]
    me = {"id": grant.account_id, "user_id": grant.account_id, "username": grant.account_name}
    return JsonResponse({k: v for k, v in me.items() if k in fields or k == "id"})


@csrf_exempt
@require_POST
def x_token(request):
    try:
        client_id, _ = _client("x")
        basic = _basic(request)
        if basic is not None:
            _authenticate(request, "x")
        elif request.POST.get("client_id") != client_id:
            raise OAuthFault("invalid_client", "Missing valid authorization header", status=401)
        access_seconds, refresh_seconds = LIFETIMES["x"]
        grant, _ = _grant_from(request, "x", client_id, rotate=True,
                               unsupported="Value passed for the grant type was invalid.")
        offline = "offline.access" in grant.scopes
        access, refresh = store.issue_tokens(grant, access_seconds=access_seconds, refresh_seconds=refresh_seconds,
                                             with_refresh=offline)
        body = {"token_type": "bearer", "expires_in": access_seconds, "access_token": access.value,
                "scope": " ".join(grant.scopes)}
        if refresh is not None:
            body["refresh_token"] = refresh.value
        return JsonResponse(body)
    except OAuthFault as exc:
        return _oauth_error(exc, platform="x")


@csrf_exempt
@require_POST
def x_revoke(request):
    try:
        if _basic(request) is not None:
            _authenticate(request, "x")
        elif request.POST.get("client_id") != _client("x")[0]:
            raise OAuthFault("invalid_client", "Missing valid authorization header", status=401)
    except OAuthFault as exc:
        return _oauth_error(exc, platform="x")
    token = store.find_token("x", request.POST.get("token", ""))
    if token is not None:
        store.revoke_grant(token.grant)
    return JsonResponse({"revoked": True})


@require_GET
def x_me(request):
    grant = store.bearer_grant("x", _bearer(request))
    if grant is None:
        return JsonResponse({"title": "Unauthorized", "type": "about:blank", "status": 401,
                             "detail": "Unauthorized"}, status=401)
    if "users.read" not in grant.scopes:
        return JsonResponse({"title": "Forbidden", "type": "about:blank", "status": 403,
                             "detail": "Missing scope users.read"}, status=403)
    return JsonResponse({"data": {"id": grant.account_id, "name": grant.account_name,
                                  "username": grant.account_name.lower().replace(" ", "_")}})




