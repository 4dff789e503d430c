"""The one field schema the pure stage-compilation tests compile against (no database)."""

from labellens.stages import CompileContext

SCHEMA = {
    "filepath": "StringField",
    "tags": "ListField(StringField)",
    "metadata": "EmbeddedDocumentField(ImageMetadata)",
    "gt": "EmbeddedDocumentField(Classification)",
    "preds": "EmbeddedDocumentField(Classifications)",
    "score": "FloatField",
}
CTX = CompileContext(SCHEMA)
