"""`cspermit sim ...`: list the shipped scenarios, run one.

``run`` starts every simulated detector of the scenario, prints one JSON line per
detector saying how to reach it (``protocol``, ``port`` as a pty path or a
``socket://`` URL, or ``ble_name`` for in-process BLE), then runs until the
scenario ends or SIGINT/SIGTERM, and exits 0. Exit 2: a scenario that does not
load or a device that cannot start (the message names the key or the device).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer


def _(message: str) -> str:
    # Importing hil_sim.i18n loads the hil_sim package (the simulator and numpy):
    # only when a message is needed, so `cspermit --help` and other groups start fast.
    from hil_sim.i18n import gettext

    return gettext(message)


app = typer.Typer(
    help="Hardware-in-the-loop simulator: simulated gas detectors / 硬件在环模拟器",
    no_args_is_help=True,
)

EXIT_OK = 0
EXIT_INVALID = 2


@app.command("scenarios")
def scenarios(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """List the shipped scenarios."""
    from hil_sim.scenario import list_scenarios, load_scenario

    for name in list_scenarios():
        s = load_scenario(name)
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "name": name,
                        "title": s.scenario.title,
                        "title_zh": s.scenario.title_zh,
                        "duration_s": s.scenario.duration_s,
                        "detectors": [d.id for d in s.detectors],
                    },
                    ensure_ascii=False,
                )
            )
        else:
            typer.echo(f"{name}\t{s.scenario.title_zh}\t{s.scenario.title}")


@app.command("run")
def run(
    scenario: Annotated[str, typer.Argument(help="shipped scenario name or path to a .toml")],
    speed: Annotated[
        float, typer.Option("--speed", min=0.0, help="scenario seconds per wall second")
    ] = 1.0,
    seed: Annotated[
        int | None, typer.Option("--seed", help="noise seed (default: the file's)")
    ] = None,
    duration: Annotated[
        float | None, typer.Option("--duration", min=0.0, help="stop after S scenario seconds")
    ] = None,
) -> None:
    """Start the scenario's devices, print how to reach them, run until stopped."""
    import asyncio
    import signal

    from hil_sim.errors import SimError
    from hil_sim.runner import Simulation

    if speed == 0:
        typer.echo(_("--speed must be above 0 for a free-running simulation"), err=True)
        raise typer.Exit(EXIT_INVALID)

    async def main() -> None:
        sim = Simulation(scenario, speed=speed, seed=seed)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with sim:
            for endpoint in sim.endpoints.values():
                typer.echo(json.dumps(endpoint.as_json(), ensure_ascii=False))
            typer.echo(
                json.dumps(
                    {
                        "scenario": sim.scenario.scenario.name,
                        "start": sim.clock.start.isoformat(),
                        "speed": speed,
                        "seed": sim.seed,
                        "status": "running",
                    }
                )
            )
            runner = asyncio.create_task(sim.run(duration))
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for task in (runner, stopper):
                task.cancel()
            typer.echo(json.dumps({"status": "stopped", "elapsed_s": round(sim.elapsed(), 1)}))

    try:
        asyncio.run(main())
    except SimError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(EXIT_INVALID) from None
