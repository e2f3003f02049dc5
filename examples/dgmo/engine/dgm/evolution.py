"""A small real-valued genetic algorithm.

Fitness is the negated Rastrigin function (a standard multimodal benchmark), so the best
possible score is 0.0. Every random draw comes from one `random.Random(seed)`, so a seed
gives the same run on every machine.
"""

import math
import random
from collections.abc import Iterator

from .models import Candidate, EvolutionConfig, GenerationReport

BOUND = 5.12


def fitness(genome: tuple[float, ...]) -> float:
    return -(10.0 * len(genome) + sum(x * x - 10.0 * math.cos(2.0 * math.pi * x) for x in genome))


def _tournament(rng: random.Random, population: list[Candidate], k: int = 3) -> Candidate:
    return max((population[rng.randrange(len(population))] for _ in range(k)), key=lambda c: c.score)


def _crossover(rng: random.Random, a: Candidate, b: Candidate) -> list[float]:
    return [x if rng.random() < 0.5 else y for x, y in zip(a.genome, b.genome)]


def _mutate(rng: random.Random, genome: list[float], rate: float) -> tuple[float, ...]:
    out = []
    for x in genome:
        if rng.random() < rate:
            x = min(BOUND, max(-BOUND, x + rng.gauss(0.0, 0.5)))
        out.append(round(x, 12))
    return tuple(out)


def _candidate(genome: tuple[float, ...]) -> Candidate:
    return Candidate(genome=genome, score=fitness(genome))


def evolve(config: EvolutionConfig) -> Iterator[GenerationReport]:
    """Yields one report per generation."""
    rng = random.Random(config.seed)
    population = [
        _candidate(tuple(round(rng.uniform(-BOUND, BOUND), 12) for _ in range(config.genome_length)))
        for _ in range(config.population)
    ]
    elite = min(config.elite, config.population - 1)
    for generation in range(1, config.generations + 1):
        population.sort(key=lambda c: c.score, reverse=True)
        children = population[:elite]
        while len(children) < config.population:
            child = _crossover(rng, _tournament(rng, population), _tournament(rng, population))
            children.append(_candidate(_mutate(rng, child, config.mutation_rate)))
        population = sorted(children, key=lambda c: c.score, reverse=True)
        best = population[0]
        yield GenerationReport(
            generation=generation,
            best_score=best.score,
            mean_score=sum(c.score for c in population) / len(population),
            best_genome=best.genome,
        )
