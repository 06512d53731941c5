// A loader's name in a consumer group of several loaders (`source.group.member`, docs/kafka.md). It
// begins every job id the loader runs under (`<member>-<time><random>`), and so every data file it
// writes (`<channel>.<jobId>.<checkpoint>-<n>`): from a file's name, or from the record a committed
// group offset names, one can tell which loader wrote it, and recovery deletes only its own staging.

/** The job id of a member's run; `runId` has no `-` (newJobId's `<time><random>`). */
export function memberJobId(member: string, runId: string): string {
  return `${member}-${runId}`;
}

/** The member a job id belongs to; undefined for a single loader's job id (no member in it). */
export function memberOfJob(jobId: string): string | undefined {
  // The member may hold `-` itself; the run id after the last one never does.
  const cut = jobId.lastIndexOf('-');
  return cut > 0 ? jobId.slice(0, cut) : undefined;
}

/** Whether a job id is one of this member's runs (whose staging this member may delete). */
export function ownedByMember(member: string): (jobId: string) => boolean {
  return (jobId) => memberOfJob(jobId) === member;
}
