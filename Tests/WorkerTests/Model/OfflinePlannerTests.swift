import HeraldProtocol
import Testing

@testable import Worker

@Suite("Offline planner")
struct OfflinePlannerTests {
    private func plan(_ message: String) -> [String] {
        OfflinePlanner.plan(message).map { "\($0.toolName) \($0.arguments.jsonString())" }
    }

    @Test("arithmetic goes to the calculator")
    func arithmetic() {
        #expect(plan("what is (17*3)+4?") == [#"calculator {"expression":"(17*3)+4"}"#])
        #expect(plan("Calculate 2 ^ 10 % 7 please") == [#"calculator {"expression":"2 ^ 10 % 7"}"#])
        #expect(plan("what is 6×7") == [#"calculator {"expression":"6×7"}"#])
        #expect(plan("what is 1/0?") == [#"calculator {"expression":"1/0"}"#])
    }

    @Test("saving and listing notes go to the notes tools; a note keeps its whole text")
    func notes() {
        #expect(plan("save a note: buy oat milk, and call Sam at 3") == [#"save_note {"text":"buy oat milk, and call Sam at 3"}"#])
        #expect(plan("Please take a note - what is 2+2? ask Ana") == [#"save_note {"text":"what is 2+2? ask Ana"}"#])
        #expect(plan("list my notes") == [#"list_notes {}"#])
        #expect(plan("what are my notes? and what is 2+2") == [#"list_notes {}"#, #"calculator {"expression":"2+2"}"#])
        #expect(plan("save a note:") == [])
        #expect(plan("I wrote notes yesterday") == [])
    }

    @Test("numbers that are not arithmetic are left alone")
    func notArithmetic() {
        #expect(plan("I had covid-19 in 2020") == [])
        #expect(plan("my birthday is 1990-04-12") == [])
        #expect(plan("I have 3 cats") == [])
    }

    @Test("time and date questions go to the clock, with a zone when one is named")
    func clock() {
        #expect(plan("what time is it?") == ["clock {}"])
        #expect(plan("What's the date today") == ["clock {}"])
        #expect(plan("what time is it in Tokyo?") == [#"clock {"time_zone":"Asia/Tokyo"}"#])
        #expect(plan("what's the time in Europe/Paris") == [#"clock {"time_zone":"Europe/Paris"}"#])
        #expect(plan("what time is it in New York") == [#"clock {"time_zone":"America/New_York"}"#])
        #expect(plan("what time is it in Atlantis") == [#"clock {"time_zone":"Atlantis"}"#])
    }

    @Test("wait N seconds goes to wait")
    func wait() {
        #expect(plan("wait 3 seconds") == [#"wait {"seconds":3}"#])
        #expect(plan("please wait for 2.5s") == [#"wait {"seconds":2.5}"#])
        #expect(plan("wait 2 minutes") == [#"wait {"seconds":120}"#])
    }

    @Test("searches and questions about Herald go to search_docs")
    func search() {
        #expect(plan("search for run lease") == [#"search_docs {"query":"run lease"}"#])
        #expect(plan("search the docs for how resume works") == [#"search_docs {"query":"how resume works"}"#])
        #expect(plan("How does Herald keep events in order?") == [#"search_docs {"query":"How does Herald keep events in order"}"#])
    }

    @Test("anything else plans no tool")
    func direct() {
        #expect(plan("hello there") == [])
        #expect(plan("tell me a joke") == [])
        #expect(plan("") == [])
    }

    @Test("several requests plan several calls, in the order asked")
    func several() {
        #expect(
            plan("wait 1 second, then what is 2+2 and what time is it in UTC? Also search for partitions") == [
                #"wait {"seconds":1}"#,
                #"calculator {"expression":"2+2"}"#,
                #"clock {"time_zone":"UTC"}"#,
                #"search_docs {"query":"partitions"}"#,
            ]
        )
        #expect(plan("what is 2+2 and 3*4?") == [#"calculator {"expression":"2+2"}"#, #"calculator {"expression":"3*4"}"#])
        #expect(plan("what time is it; what is 1/0") == ["clock {}", #"calculator {"expression":"1/0"}"#])
    }

    @Test("questions about earlier messages are recognised")
    func recall() {
        #expect(OfflinePlanner.asksAboutEarlierMessages("what did I ask before?"))
        #expect(OfflinePlanner.asksAboutEarlierMessages("What was my previous question"))
        #expect(OfflinePlanner.asksAboutEarlierMessages("what did I just say"))
        #expect(!OfflinePlanner.asksAboutEarlierMessages("what is 2+2"))
    }
}
