"""The shape every platform adapter shares (healthchecks' transports are the model).

Uploading is the one irreversible call in the pipeline: it carries the publication's
idempotency key as `client_ref`, so that after a timeout we can ask the platform whether the
post exists instead of posting blind a second time.
"""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from phantoms.resilience.errors import PermanentError
from phantoms.resilience.http import pooled_client, send


@dataclass
class RemotePost:
    id: str
    status: str
    url: str = ""


class PlatformClient:
    platform = ""
    caption_limit = 2200
    title_limit = 100

    def __init__(self, channel):
        self.channel = channel
        self.base_url = settings.PLATFORM_BASE_URLS[self.platform]

    # --- what differs per platform
    def caption(self, script: dict) -> str:
        tags = " ".join(script.get("hashtags", []))
        text = f"{script.get('description', '')}\n\n{tags}".strip()
        return self._fit(text, self.caption_limit)

    def title(self, asset) -> str:
        return self._fit(asset.title or (asset.script or {}).get("title", ""), self.title_limit)

    @staticmethod
    def _fit(text: str, limit: int) -> str:
        return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"

    # --- the protocol
    def _send(self, method: str, path: str, **kwargs):
        headers = {"Authorization": f"Bearer {self.channel.access_token or 'x'}"}
        return send(pooled_client(self.base_url), method, path, provider=self.platform, headers=headers, **kwargs)

    def upload(self, publication, video_path: Path) -> RemotePost:
        asset = publication.asset
        if not video_path.exists():
            raise PermanentError(f"rendered video missing at {video_path}", provider=self.platform)
        with video_path.open("rb") as video:
            response = self._send(
                "POST", "posts", irreversible=True,
                files={"video": (video_path.name, video, "video/mp4")},
                data={
                    "title": self.title(asset),
                    "caption": self.caption(asset.script or {}),
                    "client_ref": str(publication.idempotency_key),
                    "asset_ref": f"asset:{asset.pk}",
                    "account_id": self.channel.account_id,
                },
            )
        body = response.json()
        return RemotePost(id=body["id"], status=body.get("status", "processing"), url=body.get("url", ""))

    def find_by_ref(self, client_ref: str) -> RemotePost | None:
        body = self._send("GET", "posts", params={"client_ref": client_ref}).json()
        results = body.get("results", [])
        if not results:
            return None
        first = results[0]
        return RemotePost(id=first["id"], status=first.get("status", "processing"), url=first.get("url", ""))

    def status(self, remote_id: str) -> RemotePost:
        body = self._send("GET", f"posts/{remote_id}").json()
        return RemotePost(id=body["id"], status=body.get("status", "processing"), url=body.get("url", ""))

    def metrics(self, remote_id: str) -> dict:
        return self._send("GET", f"posts/{remote_id}/metrics").json()
