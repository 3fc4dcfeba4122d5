"""The offline writer: a script from a brief with no model, sized for the voice, steered by editor notes.

It recognises what the brief is about (pipeline.providers.script.topics) and writes from that
material: a hook, one concrete beat per point (the point, then its reason when there is time), and
a call to action, sized to the word budget of the target duration at the voice's measured pace.
Briefs on topics it has no material for get a plain how-to structure around the brief's subject.

An editor's notes are read as direction, never as narration: "open with the posture problem"
opens on the point about posture, "drop the caffeine bit" leaves that point out, "end with the
fridge" closes on it, "mention hooch" brings that point in. The same brief and notes always give
the same script.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from pipeline.script_format import Beat, Script, caption_chunks, word_budget

from .topics import TOPICS, Point, Topic

DEFAULT_WORDS_PER_SECOND = 2.6
MAX_POINTS = 10

_STOPWORDS = frozenset("""
a an and are as at be by for from how in is it its of on or that the this to with why what your you
i me my we our they them their he she his her do does did done can could should would will just
about into over than then there these those so if not no but all any each every one some more most
very really get gets got make makes made making take takes need needs want wants use using way ways
thing things stuff tip tips trick tricks people person who whom which while when where day days
easier easy better best good great simple quick minute minutes second seconds video short shorts
""".split())
# Words that make poor hashtags or search terms on their own: verbs and describing words.
_NOT_SUBJECTS = frozenset("""
keep keeps alive start stop learn build grow find avoid fix feel look looks work works try know tell
smell smells taste tastes like feel feels happen happens change changes stay save actually always never
new old big small long little real right wrong free fast slow hard soft smoother cheaper faster number
""".split())
_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10}
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")

# Notes are direction. Each pattern names what the editor wants done with a subject.
_DIRECTIONS = (
    ("open", re.compile(r"\b(?:open|start|lead|begin|kick off|hook)\s+(?:it\s+|this\s+)?(?:with|on|by)\s+([^.;!?\n]+)",
                        re.IGNORECASE)),
    ("close", re.compile(r"\b(?:end|close|finish|wrap(?: it)? up)\s+(?:it\s+|this\s+)?(?:with|on|by)\s+"
                         r"([^.;!?\n]+)", re.IGNORECASE)),
    ("drop", re.compile(r"\b(?:drop|cut|remove|skip|lose|leave out|don't mention|do not mention|no more|"
                        r"without|less about)\s+([^.;!?\n]+)", re.IGNORECASE)),
    ("add", re.compile(r"\b(?:mention|include|add|cover|talk about|say something about|more about|"
                       r"explain)\s+([^.;!?\n]+)", re.IGNORECASE)),
)


@dataclass(frozen=True)
class Direction:
    kind: str  # open | close | drop | add
    subject: str


def _words(text: str) -> list[str]:
    return [word.lower().strip("'-") for word in _WORD.findall(text)]


def _stem(word: str) -> str:
    word = word.lower()
    for suffix in ("ing", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _content_words(text: str) -> list[str]:
    return [word for word in _words(text) if word not in _STOPWORDS and len(word) > 2]


def read_directions(notes: str) -> list[Direction]:
    """What an editor's notes ask for, as (kind, subject) pairs, in the order written."""
    found: list[tuple[int, Direction]] = []
    for kind, pattern in _DIRECTIONS:
        for match in pattern.finditer(notes or ""):
            # One direction per clause: "open with the posture problem, and drop the calf raises".
            subject = re.split(r",|\b(?:and|then|but|instead)\b", match.group(1), maxsplit=1)[0]
            subject = subject.strip(" ,:-'\"")
            if _content_words(subject):
                found.append((match.start(), Direction(kind, subject)))
    return [direction for _, direction in sorted(found, key=lambda pair: pair[0])]


def _point_score(point: Point, subject: str) -> int:
    wanted = {_stem(word) for word in _content_words(subject)}
    keys = {_stem(key) for key in point.keys}
    keys |= {_stem(word) for word in _content_words(point.title + " " + point.say)}
    return len(wanted & keys) * 2 + len(wanted & {_stem(key) for key in point.keys})


def _best_point(points: list[Point], subject: str) -> Point | None:
    scored = [(_point_score(point, subject), -index, point) for index, point in enumerate(points)]
    best = max(scored, key=lambda item: item[:2], default=None)
    return best[2] if best and best[0] > 0 else None


def choose_topic(brief: str) -> Topic | None:
    words = {_stem(word) for word in _words(brief)}
    best, best_score = None, 0
    for topic in TOPICS:
        score = len(words & {_stem(trigger) for trigger in topic.triggers})
        if score > best_score:
            best, best_score = topic, score
    return best


def _count_in(brief: str) -> int | None:
    for word in _words(brief)[:4]:
        if word in _NUMBER_WORDS:
            return _NUMBER_WORDS[word]
    match = re.match(r"\s*(\d{1,2})\b", brief)
    return int(match.group(1)) if match and 2 <= int(match.group(1)) <= MAX_POINTS else None


def _subject(brief: str) -> str:
    """The brief without its framing: "How to keep houseplants alive" -> "keep houseplants alive"."""
    text = " ".join(brief.split()).rstrip(".!?")
    text = re.sub(r"^(?:why|how to|how|what|when|the|a|an)\s+", "", text, flags=re.IGNORECASE)
    text = re.sub(r"^(?:\d+|" + "|".join(_NUMBER_WORDS) + r")\s+", "", text, flags=re.IGNORECASE)
    return text[:1].lower() + text[1:] if text and not text[:2].isupper() else text


def _subject_nouns(brief: str) -> list[str]:
    words = [word for word in _content_words(brief) if len(word) > 3 and word not in _NOT_SUBJECTS]
    return list(dict.fromkeys(words))


def _generic_topic(brief: str) -> Topic:
    """Material for a brief on a topic without its own: a plain, honest way into any practical subject."""
    subject = _subject(brief) or "this"
    focus = _subject_nouns(brief)[:2] or _content_words(brief)[:2] or ["everyday"]
    visual = " ".join(focus)
    keys = tuple(focus)
    if re.match(r"\s*how to\b", brief, re.IGNORECASE):
        hooks = (f"Want to {subject}? Start here.",
                 f"Here's how to {subject}, one small step at a time.",
                 f"Everyone overcomplicates how to {subject}. Here's the simple version.")
    else:
        sentence = " ".join(brief.split()).rstrip(".!?")
        sentence = sentence[:1].upper() + sentence[1:]
        mark = "?" if re.match(r"(?:why|how|what|when|where|who|which|is|are|do|does|can)\b", sentence,
                                re.IGNORECASE) else "."
        hooks = (f"{sentence}{mark} Here's the short version.",
                 f"{sentence}{mark} Stay with me, this one is worth a minute.",
                 f"{sentence}{mark} Here's what to know.")
    return Topic(
        name="general",
        triggers=(),
        hooks=hooks,
        points=(
            Point("Start smaller", "Start with the smallest version you can do today, not the perfect plan.",
                  "Small starts get finished, and finished things teach you more than plans do.",
                  f"{visual} close up", keys),
            Point("Same time, same place", "Give it a fixed time and place, so it stops being a daily decision.",
                  "Habits stick to cues, like a time of day or a spot in the house.",
                  f"{visual} morning routine", keys),
            Point("Write down what happens", "Keep a short note of what you tried and what happened.",
                  "After a week you'll see patterns you would never remember otherwise.",
                  "hand writing notes notebook", ("note", "notes", "track")),
            Point("Ask someone ahead of you", "Ask someone who's a year ahead of you what they would skip.",
                  "People who just did it remember the mistakes that experts forget.",
                  "two people talking coffee", ("ask", "advice", "help")),
            Point("Fix one thing at a time", "When something goes wrong, change one thing at a time.",
                  "Change three at once and you'll never know which one worked.",
                  f"{visual} detail", ("fix", "problem", "change")),
            Point("Two weeks before judging", "Give it two full weeks before you decide whether it works.",
                  "The first few days are the hardest and tell you the least.",
                  "calendar pages marked days", ("weeks", "time", "patience")),
            Point("Make it easy to start", "Set things up so starting takes no effort: tools out, space clear.",
                  "The less there is between you and the first step, the more often you take it.",
                  f"{visual} tidy workspace", ("setup", "tools", "space")),
            Point("Celebrate the small wins", "Notice the small wins out loud, even the boring ones.",
                  "Progress you can see is what keeps you coming back.",
                  "person smiling small success", ("wins", "progress", "motivation")),
        ),
        closers=("Save this for later, and follow for more.", "Try the first step today, and follow for more."),
        tags=(),
    )


def _hashtags(topic: Topic, brief: str) -> list[str]:
    tags = list(topic.tags) or [f"#{word}" for word in _subject_nouns(brief)[:2]]
    return tags + ["#shorts"]


def _fill(units: list[tuple[int, str, str]], budget: int) -> set[tuple[int, str]]:
    """Greedily take (point, part) units in priority order while they fit in `budget` words."""
    taken: set[tuple[int, str]] = set()
    used = 0
    for index, part, text in units:
        size = len(text.split())
        if part == "why" and (index, "say") not in taken:
            continue
        if used + size <= budget or (part == "say" and not any(p == "say" for _, p in taken)):
            taken.add((index, part))
            used += size
    return taken


def compose(brief: str, *, title: str = "", target_seconds: int = 20, words_per_second: float | None = None,
            notes: str = "") -> Script:
    brief = " ".join((brief or "").split())
    notes = " ".join((notes or "").split())
    topic = choose_topic(brief) or _generic_topic(brief)
    variant = int(hashlib.sha256(f"{brief}\n{notes}".encode()).hexdigest(), 16)
    budget = word_budget(target_seconds, words_per_second or DEFAULT_WORDS_PER_SECOND)

    points = list(topic.points)
    hook = topic.hooks[variant % len(topic.hooks)]
    opening: Point | None = None
    closing: Point | None = None
    library = [point for t in TOPICS for point in t.points if point not in points]
    for direction in read_directions(notes):
        point = _best_point(points, direction.subject)
        if point is None and direction.kind in ("open", "close", "add"):
            point = _best_point(library, direction.subject)
        if point is None:
            continue
        if direction.kind == "drop":
            points.remove(point)
            continue
        if point in points:
            points.remove(point)
        if direction.kind == "open":
            opening = point
            points.insert(0, point)
        elif direction.kind == "close":
            closing = point
            points.append(point)
        else:
            points.insert(1 if opening else 0, point)
    if closing and closing in points:
        points.remove(closing)
        points.append(closing)
    if opening is not None:
        hook = opening.hook or f"Let's start with the part most people miss: {opening.title.lower()}."
    elif notes:
        # Notes that ask for something the writer cannot place still get a fresh take, never a reading.
        hook = topic.hooks[(variant + 1) % len(topic.hooks)]
    points = points[:MAX_POINTS]
    if not points:
        points = list(topic.points)[:1]

    closer = topic.closers[variant % len(topic.closers)]
    count = _count_in(brief)
    # Say every point a list brief promises first, then the reasons, then further points.
    promised = min(count or 2, len(points))
    room = max(1, budget - len(hook.split()) - len(closer.split()))
    needed = sum(len(points[i].say.split()) for i in range(promised))
    if needed > room:
        # A tight budget: the shortest closer, and the shortest hook unless an editor chose the opening.
        closer = min(topic.closers, key=lambda line: len(line.split()))
        if opening is None:
            hook = min(topic.hooks, key=lambda line: len(line.split()))
        room = max(needed, budget - len(hook.split()) - len(closer.split()))
    units: list[tuple[int, str, str]] = []
    units += [(i, "say", points[i].say) for i in range(promised)]
    units += [(i, "why", points[i].why) for i in range(promised)]
    for i in range(promised, len(points)):
        units += [(i, "say", points[i].say), (i, "why", points[i].why)]
    if closing is not None:
        last = len(points) - 1
        units.insert(0, (last, "say", points[last].say))
    taken = _fill(units, room)

    beats = []
    for index, point in enumerate(points):
        if (index, "say") not in taken:
            continue
        say, on_screen = point.say, point.title
        if count and index >= count and not (closing is not None and point is closing):
            # The brief promised `count`; anything past that is offered as a bonus, not miscounted.
            say, on_screen = f"Bonus: {say[:1].lower()}{say[1:]}", f"Bonus: {on_screen}"
        narration = say + (f" {point.why}" if (index, "why") in taken else "")
        beats.append(Beat(on_screen=on_screen[:120], narration=narration, visual_query=point.visual[:120]))
    beats = beats[:11]
    last = beats[-1]
    beats[-1] = Beat(on_screen=last.on_screen, narration=f"{last.narration} {closer}", visual_query=last.visual_query)

    narration = " ".join([hook] + [beat.narration for beat in beats])
    heading = title or (brief[:1].upper() + brief[1:] if brief else topic.points[0].title)
    summary = ", ".join(beat.on_screen.lower() for beat in beats[:4])
    description = f"{heading.rstrip('.!?')}: {summary}. {closer}"
    return Script(
        title=heading[:100],
        hook=hook,
        beats=beats,
        caption_lines=caption_chunks(narration),
        description=description[:2000],
        hashtags=_hashtags(topic, brief),
        target_duration_seconds=max(5, min(180, int(target_seconds))),
    )
