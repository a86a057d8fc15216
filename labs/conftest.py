"""nbval runs every lab's solution; the student notebooks are run by tests/labs/, which checks
that each one, untouched, fails its lab's check with the first hint."""

collect_ignore_glob = ["*/student.ipynb"]
