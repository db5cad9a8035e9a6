"""Personal ranking: a model of one member's interests over the paper vectors search already has, the reasons shown
with each recommendation, and the blend of community and personal scores."""
