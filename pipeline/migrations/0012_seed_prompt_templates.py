"""Seed prompt templates: starting points an editor can switch on in the admin (is_active).

They are seeded inactive so a fresh install writes with the built-in prompt and the OPENAI_* settings
until an editor chooses one; each carries the built-in system prompt as it stood when seeded and a
style guide of its own. Re-running adds nothing: a name that already exists is left alone.
"""

from django.db import migrations

SYSTEM_PROMPT = (
    "You write scripts for vertical short-form videos (YouTube Shorts, TikTok, Instagram Reels, X). "
    "Open with a hook that earns the next three seconds, then a few beats that each pair a short "
    "on-screen line with the narration spoken over it, and end on a call to action. Narration is read "
    "aloud by a text-to-speech voice: the hook and beats together must come to the number of words "
    "the brief gives for its target duration, no more. Write for the ear: concrete, specific, no stage "
    "directions, no emoji, no markdown. Each beat's visual_query is a short stock-footage search for "
    "what to show behind it (a few concrete nouns, no hashtags). caption_lines are the narration split "
    "into short lines of at most five words, in spoken order. Give a title under 70 characters, a "
    "one-paragraph description, and up to five relevant hashtags."
)

TEMPLATES = [
    ("Explainer", "One idea explained plainly. Start from a surprising fact, give the reason behind it in "
                  "two or three beats, close with what the viewer can do or look for."),
    ("Listicle", "Three to five numbered points, one per beat, each on-screen line starting with its number. "
                 "Keep every point self-contained; end by asking which one the viewer did not know."),
    ("Myth or fact", "Open by stating a common belief, say whether it is a myth or a fact, then show the "
                     "evidence beat by beat. Never mock the viewer for believing it."),
]


def seed(apps, schema_editor):
    template_model = apps.get_model("pipeline", "PromptTemplate")
    for name, guide in TEMPLATES:
        if not template_model.objects.filter(name=name).exists():
            template_model.objects.create(name=name, version=1, system_prompt=SYSTEM_PROMPT, style_guide=guide,
                                          is_active=False)


def unseed(apps, schema_editor):
    template_model = apps.get_model("pipeline", "PromptTemplate")
    for name, _ in TEMPLATES:
        template_model.objects.filter(name=name, version=1, assets=None).delete()


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0011_script_versions_and_notices")]
    operations = [migrations.RunPython(seed, unseed)]
