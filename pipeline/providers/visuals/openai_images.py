"""One AI image per beat from the OpenAI Images API (or a compatible server); the render adds Ken Burns motion.

Relies on the OpenAI API reference, "Images > Create image" (`POST /v1/images/generations`): `model`,
`prompt`, `n`, `size` (`1024x1536` is the portrait size of the GPT image models), `quality`
(`low`/`medium`/`high` for GPT image models) and `output_format`. GPT image models always answer with
`data[].b64_json` and report `usage` (`input_tokens`, `output_tokens`, `total_tokens`); DALL-E models
take `response_format` and answer with `data[].url` unless asked for `b64_json`. Errors come in the
API's usual shape and are classified like every other OpenAI call (a refused prompt is permanent).
"""

import base64
import binascii
from pathlib import Path

import httpx
from django.conf import settings

from phantoms.resilience.errors import PermanentError, TransientError
from pipeline.media.ffmpeg import probe
from pipeline.providers.base import BeatRequest, VisualsProvider, VisualsResult
from pipeline.providers.openai_client import openai_client, openai_errors

from .common import remember, reuse

PROVIDER = "images"
PROMPT_STYLE = ("Vertical 9:16 photograph for a short social video, natural light, one clear subject, "
                "room at the bottom for captions. No text, letters, logos or watermarks.")


def image_prompt(beat: BeatRequest, title: str) -> str:
    subject = beat.query or beat.on_screen or title
    context = f" The video is about: {title}." if title and title.lower() not in subject.lower() else ""
    return f"{subject}.{context} {PROMPT_STYLE}"


def is_gpt_image(model: str) -> bool:
    return model.startswith("gpt-image")


def image_cost(model: str, usage: dict) -> float | None:
    """USD for the tokens an image call reported, or None for a model without a known price."""
    price = settings.OPENAI_IMAGE_PRICES.get(model)
    if not price or not usage:
        return None
    return round((usage.get("input_tokens", 0) * price["input"] + usage.get("output_tokens", 0) * price["output"])
                 / 1_000_000, 6)


class OpenAIImages(VisualsProvider):
    name = "openai"
    breaker = "images"
    rate_limit = "images"

    def fetch(self, asset, beats: list[BeatRequest], out_dir: Path, *, theme: str) -> VisualsResult:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        model = settings.OPENAI_IMAGE_MODEL
        title = (asset.title or (asset.script or {}).get("title") or "").strip()
        totals = {"model": model, "images": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}
        priced = True
        visuals = []
        with openai_client(settings.OPENAI_IMAGES_TIMEOUT) as client:
            for beat in beats:
                prompt = image_prompt(beat, title)
                key = {"provider": self.name, "model": model, "prompt": prompt, "size": settings.OPENAI_IMAGE_SIZE,
                       "quality": settings.OPENAI_IMAGE_QUALITY}
                cached = reuse(out_dir, beat, key)
                if cached:
                    visuals.append(cached)
                    continue
                path, usage = self.generate(client, prompt, out_dir / f"beat-{beat.index}")
                cost = image_cost(model, usage)
                totals["images"] += 1
                totals["input_tokens"] += int(usage.get("input_tokens", 0))
                totals["output_tokens"] += int(usage.get("output_tokens", 0))
                if cost is None:
                    priced = False
                else:
                    totals["cost_usd"] = round(totals["cost_usd"] + cost, 6)
                visual = {"beat": beat.index, "kind": "image", "path": str(path), "start": beat.start,
                          "end": beat.end, "query": beat.query, "provider": self.name, "prompt": prompt,
                          "attribution": {"provider": "OpenAI", "text": f"Image generated with {model}"},
                          "usage": usage}
                visuals.append(remember(out_dir, beat, key, visual))
        if not priced:
            totals["cost_usd"] = None
        return VisualsResult(visuals=visuals, usage=totals if totals["images"] else {})

    def generate(self, client, prompt: str, stem: Path) -> tuple[Path, dict]:
        model = settings.OPENAI_IMAGE_MODEL
        options = {"model": model, "prompt": prompt, "n": 1, "size": settings.OPENAI_IMAGE_SIZE,
                   "timeout": settings.OPENAI_IMAGES_TIMEOUT}
        if is_gpt_image(model):
            options.update(quality=settings.OPENAI_IMAGE_QUALITY, output_format="jpeg")
        else:
            options.update(response_format="b64_json")
        with openai_errors(PROVIDER):
            response = client.images.generate(**options)
        data = list(response.data or [])
        if not data:
            raise TransientError("the Images API answered with no image", provider=PROVIDER)
        image = data[0]
        if image.b64_json:
            try:
                content = base64.b64decode(image.b64_json, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise TransientError(f"the image is not valid base64: {exc}", provider=PROVIDER)
        elif image.url:
            content = self._download(image.url)
        else:
            raise TransientError("the Images API answered with neither b64_json nor url", provider=PROVIDER)
        suffix = ".png" if content[:8] == b"\x89PNG\r\n\x1a\n" else ".jpg"
        path = stem.with_suffix(suffix)
        partial = stem.with_name(stem.name + ".part" + suffix)
        partial.write_bytes(content)
        try:
            info = probe(partial)
        except PermanentError as exc:
            partial.unlink(missing_ok=True)
            raise TransientError(f"the generated image cannot be read: {exc.message}", provider=PROVIDER)
        if not info.width or not info.height:
            partial.unlink(missing_ok=True)
            raise TransientError("the generated image has no picture", provider=PROVIDER)
        partial.replace(path)
        usage = response.usage.model_dump() if getattr(response, "usage", None) else {}
        return path, usage

    def _download(self, url: str) -> bytes:
        timeout = httpx.Timeout(settings.OPENAI_IMAGES_TIMEOUT, connect=settings.HTTP_TIMEOUTS["connect"])
        try:
            response = httpx.get(url, timeout=timeout, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise TransientError(f"downloading the generated image failed: {exc!r}", provider=PROVIDER)
        if response.status_code >= 400 or not response.content:
            raise TransientError(f"downloading the generated image answered HTTP {response.status_code}",
                                 provider=PROVIDER, status_code=response.status_code)
        return response.content
