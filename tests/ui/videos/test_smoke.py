from tests.ui.videos.helpers import FakePort, rows


def test_tab_builds_and_lists(make_tab, arun, qtbot):
    port = FakePort(rows(30))
    tab = make_tab(port)
    tab.show()

    async def loaded():
        if tab.model.rowCount() == 0:
            import asyncio
            fut = asyncio.get_running_loop().create_future()
            tab.queue.loaded.connect(lambda: fut.done() or fut.set_result(None))
            await fut
    arun(loaded())
    assert tab.model.rowCount() == 30
    assert tab.model.rows()[0].job_id == 30
