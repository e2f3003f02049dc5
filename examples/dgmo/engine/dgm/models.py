"""Validated inputs and outputs of a run (pydantic, as in the real DGM)."""

from pydantic import BaseModel, ConfigDict, Field


class EvolutionConfig(BaseModel):
    """What `dgmo evolve` asks for. Bad values fail with pydantic's message, before any work."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    generations: int = Field(default=10, ge=1, le=100_000)
    population: int = Field(default=32, ge=2, le=10_000)
    genome_length: int = Field(default=24, ge=1, le=4096)
    mutation_rate: float = Field(default=0.05, gt=0.0, lt=1.0)
    elite: int = Field(default=2, ge=0)


class Candidate(BaseModel):
    model_config = ConfigDict(frozen=True)

    genome: tuple[float, ...]
    score: float


class GenerationReport(BaseModel):
    generation: int
    best_score: float
    mean_score: float
    best_genome: tuple[float, ...]
