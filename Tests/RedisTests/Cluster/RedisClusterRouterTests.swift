import Redis
import Testing

@Suite("RedisClusterRouter")
struct RedisClusterRouterTests {
    static let a = RedisClusterAddress(host: "10.0.0.1", port: 7000)
    static let b = RedisClusterAddress(host: "10.0.0.2", port: 7000)
    static let c = RedisClusterAddress(host: "10.0.0.3", port: 7000)
    static let replica = RedisClusterAddress(host: "10.0.0.4", port: 7000)

    static func topology(
        _ first: RedisClusterAddress,
        _ second: RedisClusterAddress,
        replica: RedisClusterAddress? = nil
    ) throws -> RedisClusterTopology {
        try RedisClusterTopology(shards: [
            .init(slots: [0...8191], primary: .init(address: first), replicas: replica.map { [.init(address: $0)] } ?? []),
            .init(slots: [8192...16383], primary: .init(address: second)),
        ])
    }

    @Test func nothingIsKnownBeforeTheFirstTopology() {
        var router = RedisClusterRouter()
        #expect(router.address(forSlot: 0) == nil)
        #expect(router.keylessAddress() == nil)
        #expect(router.primaryAddresses.isEmpty)
    }

    @Test func slotsGoToTheirPrimaryAndKeylessCommandsTakeTurns() throws {
        var router = RedisClusterRouter(topology: try Self.topology(Self.a, Self.b))
        #expect(router.address(forSlot: 0) == Self.a)
        #expect(router.address(forSlot: 16383) == Self.b)
        #expect([router.keylessAddress(), router.keylessAddress(), router.keylessAddress()] == [Self.a, Self.b, Self.a])
    }

    @Test func movedCorrectsOneSlotUntilTheNextTopology() throws {
        var router = RedisClusterRouter(topology: try Self.topology(Self.a, Self.b))
        router.moved(slot: 5, to: Self.b)
        #expect(router.address(forSlot: 5) == Self.b)
        #expect(router.address(forSlot: 6) == Self.a)
        // The new topology knows better than a correction made before it was read.
        let gone = router.refreshed(try Self.topology(Self.a, Self.b))
        #expect(gone.isEmpty)
        #expect(router.address(forSlot: 5) == Self.a)
    }

    @Test func aRefreshNamesTheNodesThatLeft() throws {
        var router = RedisClusterRouter(topology: try Self.topology(Self.a, Self.b, replica: Self.replica))
        // The replica was promoted in place of a, which is gone.
        let gone = router.refreshed(try Self.topology(Self.replica, Self.b))
        #expect(gone == [Self.a])
        #expect(router.address(forSlot: 0) == Self.replica)
        #expect(router.primaryAddresses == [Self.replica, Self.b])
        #expect(router.refreshed(try Self.topology(Self.c, Self.b)) == [Self.replica])
    }

    @Test func primariesWithoutSlotsTakeNoCommands() throws {
        // The killed primary of a failover, still listed without slots.
        var router = RedisClusterRouter(
            topology: try RedisClusterTopology(shards: [
                .init(slots: [0...16383], primary: .init(address: Self.b)), .init(slots: [], primary: .init(address: Self.a, health: .failed)),
            ])
        )
        #expect(router.primaryAddresses == [Self.b])
        #expect([router.keylessAddress(), router.keylessAddress()] == [Self.b, Self.b])
    }
}
