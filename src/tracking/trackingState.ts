/**
 * What the pipeline says about a frame's pose: taken from ground truth,
 * no map yet, tracked, or lost. One list for the pipeline, the monocular
 * and RGB-D trackers and the wire protocol (which sends the index).
 */
export const TRACKING_STATES = ['groundtruth', 'initializing', 'ok', 'lost'] as const;
export type TrackingState = (typeof TRACKING_STATES)[number];
