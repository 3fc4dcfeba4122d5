"""What each platform accepts as the text of a post, and how Phantoms composes that text.

One table, read by the per-platform preview (live counters in the admin), the overrides' validation
and `publishing.selectors.platform_copy`. The limits are the platforms' documented ones:
- YouTube Data API v3, videos resource: `snippet.title` at most 100 characters and no "<" or ">",
  `snippet.description` at most 5000 bytes; a description with more than 60 hashtags has all of
  them ignored; "#Shorts" in the description files a vertical video as a Short.
- TikTok Content Posting API, `post_info.title` (the video's caption; TikTok has no separate title):
  at most 2200 UTF-16 code units, hashtags written inline.
- Instagram Graph API, IG media `caption`: at most 2200 characters, 30 hashtags and 20 @-mentions.
- X API v2, `POST /2/tweets` `text`: 280 characters as X counts them (a URL counts 23), hashtags inline.

A platform registered later (publishing.platforms.registry) without a row here gets its limits from
its adapter's own `title_limit`, `caption_limit` and `max_hashtags` (`limits_for`).

Counting: characters are counted as UTF-16 code units (what TikTok and X count, and what a browser's
String.length gives the live counter), except YouTube's description, which is UTF-8 bytes.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class PlatformLimits:
    platform: str
    label: str
    title: int | None  # None: the platform has no title field
    text: int  # the caption (with its hashtags) as the platform receives it
    hashtags: int | None  # None: no documented cap
    text_unit: str = "characters"  # or "bytes"
    default_hashtags: int | None = None  # how many of the script's hashtags go when not overridden
    title_in_caption: bool = False  # the script's title is the caption when not overridden


LIMITS: dict[str, PlatformLimits] = {
    "youtube": PlatformLimits("youtube", "YouTube Shorts", title=100, text=5000, hashtags=60, text_unit="bytes"),
    "tiktok": PlatformLimits("tiktok", "TikTok", title=None, text=2200, hashtags=None, title_in_caption=True),
    "instagram": PlatformLimits("instagram", "Instagram Reels", title=None, text=2200, hashtags=30,
                                default_hashtags=30),
    "x": PlatformLimits("x", "X", title=None, text=280, hashtags=None, default_hashtags=3, title_in_caption=True),
}


def limits_for(platform: str) -> PlatformLimits:
    """The platform's row, or one read from its registered adapter's class attributes."""
    if platform in LIMITS:
        return LIMITS[platform]
    from django.utils.module_loading import import_string

    from publishing.platforms import registry

    registration = registry.get(platform)  # UnknownPlatform (a KeyError) for a name nobody registered
    adapter = import_string(registration.adapter)
    return PlatformLimits(platform, registration.label, title=getattr(adapter, "title_limit", None),
                          text=getattr(adapter, "caption_limit", 2200), hashtags=getattr(adapter, "max_hashtags", None),
                          default_hashtags=getattr(adapter, "max_hashtags", None))


def measure(text: str, unit: str = "characters") -> int:
    if unit == "bytes":
        return len(text.encode("utf-8"))
    return len(text.encode("utf-16-le")) // 2


def compose(platform: str, caption: str, hashtags: list[str]) -> str:
    """The post's text as the platform receives it: the caption, then its hashtags (YouTube adds #Shorts)."""
    tags = " ".join(hashtags)
    if platform == "youtube":
        text = f"{caption}\n\n{tags}".strip()
        return text if "#shorts" in text.lower() else f"{text} #Shorts".strip()
    if platform == "instagram":
        return f"{caption}\n\n{tags}".strip()
    return f"{caption} {tags}".strip()


def problems(platform: str, title: str, caption: str, hashtags: list[str]) -> dict[str, str]:
    """{field: problem} for copy a platform would refuse or cut; empty when it fits."""
    limits = limits_for(platform)
    found = {}
    if limits.title is not None:
        if measure(title) > limits.title:
            found["title"] = f"{measure(title)} characters; {limits.label} allows {limits.title}"
        elif "<" in title or ">" in title:
            found["title"] = f"{limits.label} refuses < and > in a title"
    if limits.hashtags is not None and len(hashtags) > limits.hashtags:
        found["hashtags"] = f"{len(hashtags)} hashtags; {limits.label} allows {limits.hashtags}"
    text = compose(platform, caption, hashtags)
    if measure(text, limits.text_unit) > limits.text:
        found["caption"] = (f"{measure(text, limits.text_unit)} {limits.text_unit} with the hashtags; "
                            f"{limits.label} allows {limits.text}")
    return found
