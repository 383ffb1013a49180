/**
 * The sign-in an LTI launch hands to a page: the gateway redirects a launch to `/#lti&token=…`
 * (candidates) or `/recruiter#lti&token=…` (instructors). The fragment never reaches a server;
 * it is taken out of the address bar and the history at once.
 */
export type LaunchSignIn = { token: string; test_id: string; user_id: string; expires_at: string; name: string };

/** The launch's sign-in in this page's address, removed from it; undefined when the page was not opened by a launch. */
export function takeLaunchSignIn(): LaunchSignIn | undefined {
  if (!location.hash.startsWith('#lti&')) return undefined;
  const params = new URLSearchParams(location.hash.slice('#lti&'.length));
  history.replaceState(null, '', location.pathname);
  const token = params.get('token') ?? '';
  if (token === '') return undefined;
  return {
    token,
    test_id: params.get('test_id') ?? '',
    user_id: params.get('user_id') ?? '',
    expires_at: params.get('expires_at') ?? '',
    name: params.get('name') ?? '',
  };
}
