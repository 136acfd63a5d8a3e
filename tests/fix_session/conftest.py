def pytest_configure(config):
    config.addinivalue_line("markers", "crash: real processes SIGKILLed at random moments (select with -m crash)")
