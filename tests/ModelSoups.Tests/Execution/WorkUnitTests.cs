using ModelSoups.Execution;

namespace ModelSoups.Tests.Execution;

public sealed class WorkUnitTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_unit_file_round_trips_arguments_with_spaces_quotes_and_newlines()
    {
        var unit = new WorkUnit
        {
            Id = "run-003",
            Arguments = ["finetune", "--eval-cmd=sh 'it''s' \"x\"\nnext", "--out", "/a b/c"],
            ResultFile = "/a b/c/run-003/ingredient.json",
            WorkingDirectory = "/home/me",
        };
        var path = _dir.File("u.json");
        unit.Write(path);
        var back = WorkUnit.Read(path);
        Assert.Equal(unit.Id, back.Id);
        Assert.Equal(unit.Arguments, back.Arguments);
        Assert.Equal(unit.ResultFile, back.ResultFile);
        Assert.Equal(unit.WorkingDirectory, back.WorkingDirectory);
        Assert.Equal(unit.ArgumentsHash, back.ArgumentsHash);
        Assert.NotEqual(unit.ArgumentsHash, (unit with { Arguments = ["finetune"] }).ArgumentsHash);
    }

    [Theory]
    [InlineData("{}", "not a work unit")]
    [InlineData("[1]", "not a JSON object")]
    [InlineData("{\"format\":\"modelsoups-work-unit-1\",\"id\":\"../x\",\"arguments\":[\"a\"],\"result\":\"/r\",\"cwd\":\"/\"}", "is not 1 to")]
    [InlineData("{\"format\":\"modelsoups-work-unit-1\",\"id\":\"x\",\"arguments\":[],\"result\":\"/r\",\"cwd\":\"/\"}", "no arguments")]
    [InlineData("{\"format\":\"modelsoups-work-unit-1\",\"id\":\"x\",\"arguments\":[\"a\"],\"result\":\"rel\",\"cwd\":\"/\"}", "not an absolute path")]
    [InlineData("{\"format\":\"modelsoups-work-unit-1\",\"id\":\"x\",\"arguments\":[1],\"result\":\"/r\",\"cwd\":\"/\"}", "not all strings")]
    [InlineData("{\"format\":\"modelsoups-work-unit-1\",\"id\":\"x\",\"id\":\"y\",\"arguments\":[\"a\"],\"result\":\"/r\",\"cwd\":\"/\"}", "not valid JSON")]
    public void A_bad_unit_file_is_a_user_error_naming_the_file(string json, string expected)
    {
        var path = _dir.File("bad.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<ModelSoupsException>(() => WorkUnit.Read(path));
        Assert.Contains(expected, e.Message);
        Assert.Equal(path, e.Path);
    }

    [Fact]
    public void Ids_made_from_names_are_stable_file_names()
    {
        var a = WorkUnit.IdFor("eval", "soup of 2 + ../models/it's \"m\"");
        Assert.Equal(a, WorkUnit.IdFor("eval", "soup of 2 + ../models/it's \"m\""));
        Assert.NotEqual(a, WorkUnit.IdFor("eval", "soup of 3 + ../models/it's \"m\""));
        Assert.Matches("^eval-[0-9a-f]{12}$", a);
    }
}
