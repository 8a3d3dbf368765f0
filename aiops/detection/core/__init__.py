"""The detection core: plain data in, plain data out, no ORM and no clock.

The live schedule, ``run_analysis`` and ``replay`` all call ``analyze()`` with the
same kind of input, which is what makes a backtest mean something.
"""
