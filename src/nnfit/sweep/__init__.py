"""``nnfit sweep``: many settings, each over several seeds, trained as few batched runs.

``space`` reads the settings to try; ``plan`` groups them into batched runs; ``members``
trains a group; ``results`` ranks the settings; ``pictures`` draws them; ``runner`` ties them
together for the command line. The space, the objective and the results table do not depend
on how the trials are run.
"""
