"""The sandbox's old shared posting protocol, kept only until every platform package speaks its real one.

It relies on a lookup by our own `client_ref`, which no real platform offers; the platform packages
that still use it are marked so in docs/platforms.md and are replaced one by one.
"""

from .base import Adapter, MetricsReading, Posted, PublishRequest


class LegacyAdapter(Adapter):
    metrics_batch = 1

    def _posted(self, body: dict) -> Posted:
        status = body.get("status", "processing")
        return Posted(id=body["id"], status=status, url=body.get("url", ""))

    def publish(self, request: PublishRequest) -> Posted:
        handles = request.handles
        if handles.get("sent"):
            handles.uncertain = True
            found = self.call("GET", "posts", params={"client_ref": request.key}).json().get("results", [])
            handles.note(f"GET posts?client_ref={request.key}", f"{len(found)} post(s)")
            if found:
                return self._posted(found[0])
        if not request.video.exists():
            raise self.rejected(f"rendered video missing at {request.video}")
        handles.save(sent=True)
        with request.video.open("rb") as video:
            body = self.call("POST", "posts", irreversible=True,
                             files={"video": (request.video.name, video, "video/mp4")},
                             data={"title": request.copy.title, "caption": request.copy.caption,
                                   "client_ref": request.key, "asset_ref": request.key}).json()
        return self._posted(body)

    def status(self, remote_id, handles) -> Posted:
        return self._posted(self.call("GET", f"posts/{remote_id}").json())

    def fetch_metrics(self, post_ids):
        readings = {}
        for post_id in post_ids:
            body = self.call("GET", f"posts/{post_id}/metrics").json()
            readings[post_id] = MetricsReading({name: body.get(name) for name in ("views", "likes", "comments",
                                                                                  "shares")})
        return readings
