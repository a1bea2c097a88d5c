/** What fetch's first argument is: a Request (which carries its own method, headers, signal and body), or a URL. */

/** Whether `input` is a Request; false where the runtime has no Request at all. */
export const isRequest = (input: unknown): input is Request => typeof Request === 'function' && input instanceof Request;

/** The method a call goes out with, upper-cased: init's, else a Request input's, else GET. */
export const methodOf = (input: RequestInfo | URL, init: RequestInit): string => (init.method ?? (isRequest(input) ? input.method : 'GET')).toUpperCase();
