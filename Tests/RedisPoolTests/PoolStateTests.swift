@testable import RedisPool
import Testing

@Suite struct PoolStateTests {
    let now = ContinuousClock.now

    @Test func createsLazilyUpToTheMaximumThenWaits() {
        var state = PoolState<String>(maximum: 2)
        #expect(state.openCount == 0)
        guard case .create = state.lease() else { Issue.record("first lease should create"); return }
        guard case .create = state.lease() else { Issue.record("second lease should create"); return }
        #expect(state.lease() == nil, "third lease should wait")
        #expect(state.openCount == 2)
    }

    @Test func reusesTheMostRecentlyReturnedConnectionFirst() {
        var state = PoolState<String>(maximum: 3)
        _ = state.lease()
        _ = state.lease()
        state.returned("older", at: now)
        state.returned("newer", at: now.advanced(by: .seconds(1)))
        guard case .reuse(let connection, let since) = state.lease() else { Issue.record("expected reuse"); return }
        #expect(connection == "newer")
        #expect(since == now.advanced(by: .seconds(1)))
        guard case .reuse(let next, _) = state.lease() else { Issue.record("expected reuse"); return }
        #expect(next == "older")
    }

    @Test func aForgottenConnectionFreesItsSlot() {
        var state = PoolState<String>(maximum: 1)
        _ = state.lease()
        #expect(state.lease() == nil, "expected wait")
        state.forgot()
        #expect(state.openCount == 0)
        guard case .create = state.lease() else { Issue.record("expected create"); return }
    }

    @Test func idleConnectionsAreReusedBeforeCreatingMore() {
        var state = PoolState<String>(maximum: 5)
        _ = state.lease()
        state.returned("only", at: now)
        guard case .reuse("only", _) = state.lease() else { Issue.record("expected reuse"); return }
        #expect(state.openCount == 1)
    }

    @Test func takingAllIdleLeavesLentConnectionsCounted() {
        var state = PoolState<String>(maximum: 3)
        _ = state.lease()
        _ = state.lease()
        _ = state.lease()
        state.returned("a", at: now)
        state.returned("b", at: now)
        #expect(state.takeAllIdle().sorted() == ["a", "b"])
        #expect(state.openCount == 1)
        #expect(state.idle.isEmpty)
    }
}

@Suite struct PoolReconnectCountingTests {
    @Test func onlyConnectionsReplacingDroppedOnesAreReconnects() {
        var state = PoolState<Int>(maximum: 3)
        guard case .create(let first) = state.lease() else { Issue.record("expected create"); return }
        #expect(!first)
        state.dropped()
        guard case .create(let second) = state.lease() else { Issue.record("expected create"); return }
        #expect(second)
        // A failed open keeps the replacement owed: the next open is still a reconnect.
        state.forgot(replacing: second)
        guard case .create(let third) = state.lease() else { Issue.record("expected create"); return }
        #expect(third)
        state.returned(3, at: .now)
        // Growth is not a reconnect; idle connections dropped after READONLY are owed.
        guard case .reuse = state.lease() else { Issue.record("expected reuse"); return }
        guard case .create(let growth) = state.lease() else { Issue.record("expected create"); return }
        #expect(!growth)
        state.returned(4, at: .now)
        #expect(state.takeAllIdle() == [4])
        guard case .create(let afterReadOnly) = state.lease() else { Issue.record("expected create"); return }
        #expect(afterReadOnly)
    }
}
