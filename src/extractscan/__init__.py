"""extractscan: offline log forensics for LLM distillation (intelligence-extraction) campaigns."""

__version__ = "0.1.0"
