"""Looking at networks without training them: sizes, parameters, MACs, receptive fields."""

SALIENCY_METHODS = ("gradient", "gradcam", "occlusion")
"""The saliency methods of :mod:`cnnlab.inspection.saliency`, here where naming them needs no torch (the command
line's choices are built from it while ``cnnlab shape`` runs, which never loads torch)."""
