"""Questions asked of the ledger by commands, tests and the chaos report."""

from collections import Counter

from .models import SandboxPost


def ledger_summary(platform: str | None = None) -> dict:
    """Posts accepted, and double posts: posts sharing (platform, asset_ref) beyond the first.

    Posts with a blank asset_ref name no asset, so they are never counted as duplicates.
    """
    queryset = SandboxPost.objects.all()
    if platform:
        queryset = queryset.filter(platform=platform)
    rows = list(queryset.values_list("platform", "asset_ref"))
    by_platform: dict[str, dict] = {}
    for name, _ in rows:
        by_platform.setdefault(name, {"posts": 0, "duplicates": 0})["posts"] += 1
    groups = Counter((name, asset_ref) for name, asset_ref in rows if asset_ref)
    duplicated = []
    for (name, asset_ref), count in sorted(groups.items()):
        if count > 1:
            by_platform[name]["duplicates"] += count - 1
            duplicated.append({"platform": name, "asset_ref": asset_ref, "count": count})
    return {
        "posts": len(rows),
        "duplicates": sum(entry["duplicates"] for entry in by_platform.values()),
        "by_platform": by_platform,
        "duplicated_assets": duplicated,
    }
