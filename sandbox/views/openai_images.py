"""The OpenAI Images API's `POST /v1/images/generations`, answered with real images drawn by ffmpeg.

Relies on the OpenAI API reference, "Images > Create image": `prompt` (required), `model`
(`dall-e-2` by default), `n`, `size`, `quality`, `output_format`, `background`, `moderation`,
`output_compression`, `response_format` (DALL-E models only), `style`, `user`. GPT image models
answer with `data[].b64_json` and `usage` (`input_tokens`, `input_tokens_details`, `output_tokens`,
`total_tokens`) and echo `background`, `output_format`, `quality` and `size`; DALL-E models answer
with `data[].url` unless `response_format` is `b64_json`, and `dall-e-3` adds `revised_prompt`.
Errors use the API's `{"error": {"message", "type", "param", "code"}}`.

Images are abstract (a colour field seeded by the prompt), so one prompt always gets the same picture
and different prompts get visibly different ones.
"""

import base64
import hashlib
import subprocess
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from pipeline.media.ffmpeg import ffmpeg_exe
from sandbox import faults

from .common import gate, json_body

TARGET = "images"
SIZES = {
    "gpt-image": ("auto", "1024x1024", "1536x1024", "1024x1536"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
}
QUALITIES = {"gpt-image": ("auto", "low", "medium", "high"), "dall-e-3": ("standard", "hd", "auto"),
             "dall-e-2": ("standard", "auto")}
PROMPT_LIMITS = {"gpt-image": 32000, "dall-e-3": 4000, "dall-e-2": 1000}
OUTPUT_FORMATS = {"png": "png", "jpeg": "mjpeg", "webp": "libwebp"}
# Image output tokens the GPT image models report, by quality and size.
OUTPUT_TOKENS = {("low", "1024x1024"): 272, ("low", "1024x1536"): 408, ("low", "1536x1024"): 400,
                 ("medium", "1024x1024"): 1056, ("medium", "1024x1536"): 1584, ("medium", "1536x1024"): 1568,
                 ("high", "1024x1024"): 4160, ("high", "1024x1536"): 6240, ("high", "1536x1024"): 6208}


def _family(model: str) -> str | None:
    if model.startswith("gpt-image"):
        return "gpt-image"
    if model in ("dall-e-2", "dall-e-3"):
        return model
    return None


def _invalid(message: str, param: str | None, code: str = "invalid_value") -> JsonResponse:
    return faults.error_response(TARGET, 400, message, code=code, error_type="invalid_request_error", param=param)


def images_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "sandbox_images"
    path.mkdir(parents=True, exist_ok=True)
    return path


def draw_image(prompt: str, index: int, width: int, height: int, encoder: str) -> bytes:
    """An abstract picture seeded by the prompt: a turning gradient softened by Perlin noise."""
    digest = hashlib.sha256(f"{prompt}:{index}".encode()).hexdigest()
    colours = [f"0x{digest[i:i + 6]}" for i in (0, 6, 12)]
    seed = int(digest[18:26], 16)
    kind = ("linear", "radial", "circular", "spiral")[seed % 4]
    graph = (f"gradients=s={width}x{height}:n=3:c0={colours[0]}:c1={colours[1]}:c2={colours[2]}:type={kind}:"
             f"seed={seed % 100000},format=rgb24[g];"
             f"perlin=s={max(16, width // 8)}x{max(16, height // 8)}:octaves=3:random_mode=seed:seed={seed},"
             f"scale={width}:{height},format=rgb24[p];[g][p]blend=all_mode=softlight")
    result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi",
                             "-i", graph, "-frames:v", "1", "-c:v", encoder, "-f", "image2pipe", "-"],
                            capture_output=True, timeout=60)
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError(f"drawing the image failed: {result.stderr.decode(errors='replace')[-300:]}")
    return result.stdout


@csrf_exempt
@require_POST
def generations(request):
    faulted = gate(request, TARGET)
    if faulted is not None:
        return faulted
    body, error = json_body(request, TARGET)
    if error is not None:
        return error
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return _invalid("Missing required parameter: 'prompt'.", "prompt", code="missing_required_parameter")
    model = body.get("model") or "dall-e-2"
    family = _family(model) if isinstance(model, str) else None
    if family is None:
        return _invalid(f"Invalid value for 'model': {model!r} is not an image model.", "model")
    if len(prompt) > PROMPT_LIMITS[family]:
        return _invalid(f"'prompt' is too long: at most {PROMPT_LIMITS[family]} characters.", "prompt")
    n = body.get("n", 1)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10 or (family == "dall-e-3" and n != 1):
        return _invalid("Invalid value for 'n': between 1 and 10 (1 for dall-e-3).", "n")
    size = body.get("size") or ("auto" if family == "gpt-image" else "1024x1024")
    if size not in SIZES[family]:
        return _invalid(f"Invalid value for 'size': {size!r}; supported: {', '.join(SIZES[family])}.", "size")
    quality = body.get("quality") or ("auto" if family != "dall-e-3" else "standard")
    if quality not in QUALITIES[family]:
        return _invalid(f"Invalid value for 'quality': {quality!r}; supported: {', '.join(QUALITIES[family])}.",
                        "quality")
    if family == "gpt-image":
        if "response_format" in body:
            return _invalid("Unknown parameter: 'response_format'.", "response_format", code="unknown_parameter")
        output_format = body.get("output_format") or "png"
        if output_format not in OUTPUT_FORMATS:
            return _invalid(f"Invalid value for 'output_format': {output_format!r}.", "output_format")
        response_format = "b64_json"
    else:
        if "output_format" in body:
            return _invalid("Unknown parameter: 'output_format'.", "output_format", code="unknown_parameter")
        output_format = "png"
        response_format = body.get("response_format") or "url"
        if response_format not in ("url", "b64_json"):
            return _invalid(f"Invalid value for 'response_format': {response_format!r}.", "response_format")

    if size == "auto":
        size = "1024x1024"
    width, height = (int(part) for part in size.split("x"))
    data = []
    for index in range(n):
        image = draw_image(prompt, index, width, height, OUTPUT_FORMATS[output_format])
        item: dict = {}
        if response_format == "b64_json":
            item["b64_json"] = base64.b64encode(image).decode()
        else:
            name = f"{uuid.uuid4().hex}.png"
            (images_dir() / name).write_bytes(image)
            item["url"] = request.build_absolute_uri(reverse("sandbox:openai-image-file", args=[name]))
        if family == "dall-e-3":
            item["revised_prompt"] = prompt
        data.append(item)
    answer: dict = {"created": int(time.time()), "data": data}
    if family == "gpt-image":
        text_tokens = max(1, int(len(prompt.split()) * 1.3))
        resolved_quality = "medium" if quality == "auto" else quality
        image_tokens = OUTPUT_TOKENS.get((resolved_quality, size), 1056) * n
        answer.update(background="opaque", output_format=output_format, quality=resolved_quality, size=size,
                      usage={"input_tokens": text_tokens,
                             "input_tokens_details": {"image_tokens": 0, "text_tokens": text_tokens},
                             "output_tokens": image_tokens, "total_tokens": text_tokens + image_tokens})
    return JsonResponse(answer)


@require_GET
def image_file(request, name: str):
    """Where a DALL-E `url` answer points (a storage link in the real service)."""
    path = images_dir() / Path(name).name
    if not path.is_file():
        return faults.error_response(TARGET, 404, "No such image.", code="not_found")
    return FileResponse(path.open("rb"), content_type="image/png")
