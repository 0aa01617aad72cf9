import Foundation
import Testing
@testable import SWAData
@testable import SWAFormats
@testable import SWAKit

/// swa-landscape split into shards of points (docs/SCALE.md): the merged report is the single
/// process's, point for point; the merge refuses partials of another command or an incomplete set.
@Suite("Landscape shards")
struct LandscapeShardTests {
    static let line = LandscapeJob.Kind.line(a: LandscapeTests.checkpoint(20), b: LandscapeTests.checkpoint(10),
                                             steps: try! SweepValues([-0.5, 0, 0.5, 1, 1.5]))

    /// Writes `count` shards of `job` into `folder` and returns the partials, last shard first.
    static func shards(_ job: LandscapeJob, count: Int, folder: String) throws -> [String] {
        try (0 ..< count).reversed().map { index in
            let path = folder + "/points-\(index).swa"
            _ = try job.runShard(try ShardSpec(index: index, count: count), partial: path, overwrite: false, tool: "swa-landscape test")
            return path
        }
    }

    @Test("A line in 2 and 7 shards (more shards than points) merges into the single process's points", arguments: [2, 7])
    func lineMergesToTheSingleProcess(_ count: Int) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let job = LandscapeTests.job(Self.line)
            let single = try job.run()
            let merged = try job.runMerge(try Self.shards(job, count: count, folder: folder))
            #expect(merged.points == single.points)
            #expect(merged.points.count == 5)
            #expect(merged.models == single.models)
        }
    }

    @Test("Width and plane merge into the single process's report: points, widths, the plane's placements")
    func widthAndPlaneMerge() throws {
        try TestSupport.withTemporaryDirectory { folder in
            for name in ["w", "p"] { try FileManager.default.createDirectory(atPath: folder + "/" + name, withIntermediateDirectories: false) }
            let width = LandscapeTests.job(.width(models: [LandscapeTests.checkpoint(20)], directions: 2, distances: try SweepValues([0, 10]),
                                                  threshold: nil), directions: RandomDirections(seed: 3))
            let single = try width.run()
            let merged = try width.runMerge(try Self.shards(width, count: 2, folder: folder + "/w"))
            #expect(merged.points == single.points)
            #expect(merged.widths == single.widths)
            let paths = [LandscapeTests.checkpoint(10), LandscapeTests.checkpoint(14), LandscapeTests.checkpoint(20)]
            let plane = LandscapeTests.job(.plane(points: paths, grid: 2, margin: 0.1, marks: []))
            let planeSingle = try plane.run()
            let planeMerged = try plane.runMerge(try Self.shards(plane, count: 3, folder: folder + "/p"))
            #expect(planeMerged.points == planeSingle.points)
            #expect(planeMerged.plane == planeSingle.plane)
            #expect(planeMerged.csv == planeSingle.csv)
        }
    }

    @Test("The merge refuses partials of another command line, naming the option, and an incomplete set")
    func refusals() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let job = LandscapeTests.job(Self.line)
            let partials = try Self.shards(job, count: 2, folder: folder)
            let other = LandscapeTests.job(Self.line, bn: .keep)
            let option = try #require(throws: SWAError.self) { try other.runMerge(partials) }
            #expect(option.message.contains("option bn is 'update', but this command gives 'keep'"))
            let missing = try #require(throws: SWAError.self) { try job.runMerge([partials[0]]) }
            #expect(missing.message.contains("missing shard 0/2"))
            let otherModel = LandscapeTests.job(.line(a: LandscapeTests.checkpoint(19), b: LandscapeTests.checkpoint(10),
                                                      steps: try SweepValues([-0.5, 0, 0.5, 1, 1.5])))
            let input = try #require(throws: SWAError.self) { try otherModel.runMerge(partials) }
            #expect(input.description.contains("ckpt-020.safetensors.zst"))
            #expect(input.message.contains("not the same run"))
        }
    }
}
