"""X: still on the sandbox's old shared protocol (publishing/platforms/legacy.py) until its own lands."""

from ..base import Copy
from ..legacy import LegacyAdapter


class X(LegacyAdapter):
    """X: 280 characters, hashtags included."""

    name = "x"
    caption_limit = 280
    max_hashtags = 3

    def shape_copy(self, copy: Copy) -> Copy:
        tags = " ".join(copy.hashtags)
        copy.description = self.fit(copy.title, self.caption_limit - len(tags) - 2)
        return copy
