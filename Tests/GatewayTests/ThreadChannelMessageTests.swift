import HeraldCore
import NIOCore
import Testing

@Suite struct ThreadChannelMessageTests {
    private func frames(_ text: String) -> [String] {
        ThreadChannelMessage.frames(in: ByteBuffer(string: text)).map { String(buffer: $0) }
    }

    @Test func splitsAMessageIntoItsFramesInOrder() {
        #expect(frames(#"{"seq":1}"#) == [#"{"seq":1}"#])
        #expect(frames("{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}") == [#"{"seq":1}"#, #"{"seq":2}"#, #"{"seq":3}"#])
    }

    @Test func escapedNewlinesInsideAFrameDoNotSplitIt() {
        let frame = #"{"seq":4,"payload":{"content":"two\nlines"}}"#
        #expect(frames(frame + "\n" + frame) == [frame, frame])
    }

    @Test func emptyLinesAndATrailingNewlineYieldNoEmptyFrame() {
        #expect(frames("") == [])
        #expect(frames("\n\n") == [])
        #expect(frames("{\"seq\":1}\n\n{\"seq\":2}\n") == [#"{"seq":1}"#, #"{"seq":2}"#])
    }

    @Test func framesAreSlicesThatKeepTheirBytes() {
        let message = ByteBuffer(string: "{\"a\":\"é\"}\n{\"b\":\"日本\"}")
        let parts = ThreadChannelMessage.frames(in: message)
        #expect(parts.map(\.readableBytes) == [10, 14])
        #expect(parts.map { String(buffer: $0) } == [#"{"a":"é"}"#, #"{"b":"日本"}"#])
    }
}
