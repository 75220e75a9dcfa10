"""`crosscheck train`'s memory is flat in the number of steps (bench/train_memory.py prints the full figures:
1,000 against 10,000 steps of a 2-1000-3 net with torch).  Here, small: 30 against 300 steps of the reference
alone, each in its own process — keeping every step's parameters would add 270 × 48 KB × 4 runs ≈ 52 MB."""
from bench.train_memory import peak_memory


def test_train_memory_does_not_grow_with_the_steps():
    short, code_short, _ = peak_memory(30, "numpy-reference")
    long, code_long, _ = peak_memory(300, "numpy-reference")
    print(f"crosscheck train 2-1000-3, reference and twins: peak {short:.1f} MB at 30 steps, {long:.1f} MB at 300")
    assert code_short == code_long == 0
    assert long - short < 5, f"peak {short:.1f} MB at 30 steps, {long:.1f} MB at 300"
