# ruff: noqa: E501  (data: long literals read better unwrapped)
"""Static catalogues of the simulated world: models, API surfaces per log format, user agents, IP ranges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Model:
    name: str  # as requested
    served: str  # as the response names it
    max_out: int  # largest max_tokens the model accepts
    price_in: float  # USD per million input tokens
    price_out: float  # USD per million output tokens
    reasoning: bool = False
    new: bool = False  # the model released inside the window


OPENAI = (
    Model("gpt-4o", "gpt-4o-2024-08-06", 16384, 2.5, 10.0),
    Model("gpt-4o-mini", "gpt-4o-mini-2024-07-18", 16384, 0.15, 0.6),
    Model("gpt-4.1", "gpt-4.1-2025-04-14", 32768, 2.0, 8.0),
    Model("gpt-4.1-mini", "gpt-4.1-mini-2025-04-14", 32768, 0.4, 1.6),
    Model("o4-mini", "o4-mini-2025-04-16", 100000, 1.1, 4.4, reasoning=True),
    Model("o3", "o3-2025-04-16", 100000, 2.0, 8.0, reasoning=True),
)
ANTHROPIC = (
    Model("claude-3-5-haiku-20241022", "claude-3-5-haiku-20241022", 8192, 0.8, 4.0),
    Model("claude-sonnet-4-20250514", "claude-sonnet-4-20250514", 64000, 3.0, 15.0),
    Model("claude-3-7-sonnet-20250219", "claude-3-7-sonnet-20250219", 64000, 3.0, 15.0),
    Model("claude-opus-4-20250514", "claude-opus-4-20250514", 32000, 15.0, 75.0),
)
BEDROCK_ANTHROPIC = (
    Model("us.anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku-20241022", 8192, 0.8, 4.0),
    Model("us.anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4-20250514", 64000, 3.0, 15.0),
    Model("anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku-20240307", 4096, 0.25, 1.25),
    Model("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "claude-3-7-sonnet-20250219", 64000, 3.0, 15.0),
)
BEDROCK_OTHER = (
    Model("amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0", 5000, 0.06, 0.24),
    Model("amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0", 5000, 0.8, 3.2),
    Model("us.meta.llama3-3-70b-instruct-v1:0", "meta.llama3-3-70b-instruct-v1:0", 8192, 0.72, 0.72),
)
FAMILIES: dict[str, tuple[Model, ...]] = {
    "openai": OPENAI,
    "anthropic": ANTHROPIC,
    "bedrock_anthropic": BEDROCK_ANTHROPIC,
    "bedrock_other": BEDROCK_OTHER,
}


def new_models(release: date) -> dict[str, Model]:
    """The model each family releases inside the window (fictional names carrying the release date)."""
    d8 = release.strftime("%Y%m%d")
    opus = f"claude-opus-5-{d8}"
    return {
        "openai": Model("gpt-5-preview", f"gpt-5-preview-{release.isoformat()}", 128000, 5.0, 20.0, True, True),
        "anthropic": Model(opus, opus, 64000, 15.0, 75.0, new=True),
        "bedrock_anthropic": Model(f"us.anthropic.{opus}-v1:0", opus, 64000, 15.0, 75.0, new=True),
        "bedrock_other": Model("amazon.nova-premier-v1:0", "amazon.nova-premier-v1:0", 10000, 2.5, 12.5, new=True),
    }


# (surface, family, weight) per format. Surfaces: chat = OpenAI Chat Completions, responses = OpenAI
# Responses, messages = Anthropic Messages, converse / invoke = Bedrock Converse / InvokeModel.
SURFACES: dict[str, tuple[tuple[str, str, float], ...]] = {
    "envelope": (("chat", "openai", 0.55), ("responses", "openai", 0.15), ("messages", "anthropic", 0.30)),
    "bedrock": (
        ("converse", "bedrock_anthropic", 0.40),
        ("converse", "bedrock_other", 0.25),
        ("invoke", "bedrock_anthropic", 0.35),
    ),
    "litellm": (("chat", "openai", 0.6), ("chat", "anthropic", 0.4)),
    "langfuse": (("chat", "openai", 0.65), ("chat", "anthropic", 0.35)),
    "helicone": (("chat", "openai", 0.7), ("messages", "anthropic", 0.3)),
    "portkey": (("chat", "openai", 0.5), ("messages", "anthropic", 0.5)),
    "openai_batch": (("chat", "openai", 0.8), ("responses", "openai", 0.2)),
}
# Relative weight of each format when an account's format is drawn.
FORMAT_WEIGHTS: dict[str, float] = {
    "envelope": 0.30,
    "bedrock": 0.20,
    "litellm": 0.20,
    "langfuse": 0.10,
    "helicone": 0.10,
    "portkey": 0.10,
    "openai_batch": 0.15,
}
BEDROCK_REGIONS = ("us-east-1", "us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1")

BROWSER_UAS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{m} Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{m} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.0.0",
)
SDK_UAS = (
    "OpenAI/Python 1.82.0",
    "OpenAI/Python 1.78.1",
    "OpenAI/Python 1.86.0",
    "OpenAI/JS 4.98.0",
    "OpenAI/JS 4.103.0",
    "Anthropic/Python 0.52.0",
    "Anthropic/Python 0.49.0",
    "Anthropic/TypeScript 0.50.3",
    "AsyncOpenAI/Python 1.82.0",
    "langchain-openai/0.3.18",
    "llama-index/0.12.38",
    "Boto3/1.38.27 md/Botocore#1.38.27 ua/2.1 os/linux",
)
SCRIPT_UA_FAMILIES: dict[str, tuple[str, ...]] = {
    "requests": ("python-requests/2.32.3", "python-requests/2.31.0", "python-requests/2.32.2"),
    "httpx": ("python-httpx/0.28.1", "python-httpx/0.27.2", "python-httpx/0.27.0"),
    "aiohttp": ("Python/3.11 aiohttp/3.11.18", "Python/3.12 aiohttp/3.10.5", "Python/3.11 aiohttp/3.9.5"),
    "go": ("Go-http-client/2.0", "Go-http-client/1.1"),
    "node": ("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", "axios/1.7.9", "undici/6.21.0"),
    "curl": ("curl/8.7.1", "curl/8.5.0", "curl/7.88.1"),
}

# First octets that look like consumer ISPs, and /16s that look like hosting providers.
RESIDENTIAL_FIRST = (
    24,
    47,
    50,
    67,
    68,
    69,
    71,
    73,
    75,
    76,
    81,
    82,
    84,
    86,
    88,
    90,
    92,
    95,
    98,
    108,
    109,
    151,
    174,
    176,
    178,
    181,
    186,
    188,
    189,
    190,
    201,
    213,
    217,
)
MOBILE_FIRST = (100, 172, 174, 166, 107, 39, 49, 117)
HOSTING_16 = (
    "3.91",
    "3.238",
    "13.58",
    "18.204",
    "34.73",
    "34.141",
    "35.184",
    "35.229",
    "44.201",
    "52.14",
    "52.87",
    "54.164",
    "45.55",
    "45.77",
    "64.225",
    "104.131",
    "104.248",
    "134.209",
    "138.68",
    "139.59",
    "143.198",
    "146.190",
    "157.230",
    "159.65",
    "159.89",
    "161.35",
    "164.92",
    "165.22",
    "167.99",
    "178.62",
    "188.166",
    "206.189",
)
CORPORATE_16 = (
    "12.161",
    "38.104",
    "63.117",
    "65.196",
    "89.187",
    "146.75",
    "192.26",
    "199.87",
    "205.251",
    "212.58",
)

# Time zones (UTC offset in hours) and the country code Helicone would report, weighted by traffic.
TIMEZONES: tuple[tuple[float, str, float], ...] = (
    (-8.0, "US", 0.12),
    (-7.0, "US", 0.05),
    (-6.0, "US", 0.06),
    (-5.0, "US", 0.14),
    (-5.0, "CA", 0.03),
    (-3.0, "BR", 0.05),
    (0.0, "GB", 0.08),
    (1.0, "DE", 0.07),
    (1.0, "FR", 0.05),
    (1.0, "ES", 0.03),
    (2.0, "PL", 0.02),
    (3.0, "TR", 0.02),
    (5.5, "IN", 0.09),
    (7.0, "VN", 0.02),
    (8.0, "SG", 0.03),
    (8.0, "CN", 0.03),
    (9.0, "JP", 0.04),
    (9.0, "KR", 0.03),
    (10.0, "AU", 0.03),
    (12.0, "NZ", 0.01),
)

FIRST_NAMES = (
    "alex",
    "sam",
    "jordan",
    "maria",
    "wei",
    "priya",
    "lucas",
    "emma",
    "noah",
    "fatima",
    "diego",
    "yuki",
    "ivan",
    "chloe",
    "omar",
    "lena",
    "raj",
    "sofia",
    "tom",
    "nina",
    "ahmed",
    "julia",
    "ken",
    "sara",
    "ben",
    "ana",
    "li",
)
LAST_NAMES = (
    "smith",
    "garcia",
    "chen",
    "kumar",
    "mueller",
    "rossi",
    "tanaka",
    "silva",
    "nguyen",
    "kowalski",
    "brown",
    "lopez",
    "ivanova",
    "kim",
    "martin",
    "novak",
    "haddad",
    "jensen",
    "okafor",
    "dubois",
    "park",
    "singh",
)
APP_NAMES = (
    "support-bot",
    "ticket-router",
    "helpdesk-ai",
    "crm-enricher",
    "notes-summarizer",
    "feedback-scorer",
    "inbox-triage",
    "kb-assistant",
    "case-summary",
    "review-classifier",
)
WORDS = (
    "atlas",
    "nova",
    "ember",
    "quartz",
    "delta",
    "falcon",
    "orbit",
    "cobalt",
    "lumen",
    "vector",
    "harbor",
    "pike",
    "tundra",
    "sable",
    "zephyr",
    "onyx",
    "juniper",
    "vertex",
    "kestrel",
    "basalt",
    "cinder",
    "fjord",
    "helix",
)
