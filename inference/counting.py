"""Per-class counting after a camera's label mapping.

A camera may map detector classes to the labels it reports (``{"person": "person"}`` counts only
people; ``{"0": "male", "1": "female"}`` renames class indices). Keys match a detector class by
name or by index; several classes may map to one label (their counts add up). Classes the mapping
does not mention are dropped; without a mapping every detector class is kept under its own name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from inference.detection import Detection


class LabelMapError(ValueError):
    """A label mapping that names classes the detector does not have."""


@dataclass(frozen=True)
class LabelMap:
    """Detector class name -> reported label, plus the reported labels in a stable order."""

    mapping: Mapping[str, str]
    labels: tuple[str, ...]

    @classmethod
    def build(cls, names: Sequence[str], spec: Mapping[str, str] | None) -> LabelMap:
        """Resolve a camera's mapping against a detector's class ``names``.

        Raises :class:`LabelMapError` when a key matches no class (a typo would otherwise
        silently count nothing)."""
        if spec is None:
            return cls(mapping={n: n for n in names}, labels=tuple(dict.fromkeys(names)))
        mapping: dict[str, str] = {}
        for key, label in spec.items():
            matched = [n for i, n in enumerate(names) if key in (n, str(i))]
            if not matched:
                raise LabelMapError(f"label mapping key {key!r} is not a detector class (classes: {list(names)})")
            mapping.update(dict.fromkeys(matched, label))
        labels = tuple(dict.fromkeys(mapping[n] for n in names if n in mapping))
        return cls(mapping=mapping, labels=labels)

    def apply(self, detections: Iterable[Detection]) -> list[Detection]:
        """Keep mapped detections, relabelled; drop the others."""
        mapping = self.mapping
        return [replace(d, label=mapping[d.label]) for d in detections if d.label in mapping]

    def apply_labels(self, labels: Iterable[str]) -> list[str]:
        """Map plain labels (e.g. ground truth) the same way detections are mapped."""
        return [self.mapping[label] for label in labels if label in self.mapping]


def tally(labels: Iterable[str], label_map: LabelMap) -> dict[str, int]:
    """Count already-mapped labels; every reported label appears, with 0 when absent."""
    counts = dict.fromkeys(label_map.labels, 0)
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    return counts


def count_detections(detections: Iterable[Detection], label_map: LabelMap) -> dict[str, int]:
    """Per-label counts of raw detector output after ``label_map``; every label the mapping
    keeps appears, with 0 when absent. Use :meth:`LabelMap.apply` for the mapped detections."""
    return tally((d.label for d in label_map.apply(detections)), label_map)
