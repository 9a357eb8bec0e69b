"""What a stackswap environment is: its config (model, value checks, cross-key rules, loading),
the names contract between the rendered stacks and the orchestrator, and the one error family
with its exit codes. The ground floor: imported by generator, orchestrator and sandbox, it
imports none of them."""
