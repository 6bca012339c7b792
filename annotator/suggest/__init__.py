"""Suggestions: detectors and rules that propose speakers, tags, splits, events and doubts.

Nothing here writes an annotation: every module proposes
(:class:`~annotator.core.suggestions.Proposal`) and :mod:`annotator.suggest.runner` stores
the proposals in the workspace's suggestion layer, where a person accepts or rejects them
through the review session (:mod:`annotator.core.suggesting`).

- :mod:`~annotator.suggest.rules`: codebook phrases and patterns -> suggested tags;
- :mod:`~annotator.suggest.distrust`: lines to check, with the reasons (pure figures);
- :mod:`~annotator.suggest.impacts`: impulsive sounds and bursts (numpy/scipy);
- :mod:`~annotator.suggest.voices`: who spoke (needs the ``voices`` extra);
- :mod:`~annotator.suggest.runner`: runs them for a media and stores what they propose.
"""
