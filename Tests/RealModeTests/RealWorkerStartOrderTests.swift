import Testing
@testable import MeshRealMode

@Suite struct RealWorkerStartOrderTests {
    private actor Began {
        var workers: [Int] = []
        func append(_ worker: Int) { workers.append(worker) }
    }

    @Test func workersBeginInOrderWhateverOrderTheirTasksRun() async {
        let order = RealWorkerStartOrder(workers: 4)
        let began = Began()
        await withTaskGroup(of: Void.self) { group in
            for worker in [3, 1, 2, 0] {
                group.addTask {
                    await order.awaitTurn(of: worker)
                    await began.append(worker)
                    order.firstCallFinished(by: worker)
                }
            }
        }
        #expect(await began.workers == [0, 1, 2, 3])
    }

    @Test func aWorkerWithoutCallsDoesNotHoldUpTheNext() async {
        let order = RealWorkerStartOrder(workers: 3)
        order.firstCallFinished(by: 0)
        order.firstCallFinished(by: 0)
        await order.awaitTurn(of: 1)
        order.firstCallFinished(by: 1)
        await order.awaitTurn(of: 2)
        await order.awaitTurn(of: 0)
        order.firstCallFinished(by: 7)
    }
}
